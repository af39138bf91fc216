"""The decision diff: what a new version of the rules changes for the services of a register.

Its place: ``policy-rules diff OLD NEW FACTS`` decides every service of FACTS
with both versions as the register is read (``registers.facts.FactsStream``,
the reading ``evaluate`` uses), so memory stays flat however long the
register; each service whose outcome, priority, element outcomes or needed
facts differ is written out as soon as it is found, with the rule that
decided it before and after. A service one version cannot decide (its facts
do not fit that version's declarations, or two rules conflict) counts as the
outcome ``error`` or ``conflict``, because a change that makes a service fail
is the change an officer most needs to see. Without FACTS, the command asks
the symbolic diff (``analysis.symbolic_diff``) instead.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

import attrs

from policy_rules.engine.decision import Decision
from policy_rules.engine.facts import service_name
from policy_rules.errors import ConflictError, PolicyError
from policy_rules.registers.facts import ServiceFacts
from policy_rules.safety.escape import for_csv_cell, for_terminal
from policy_rules.values.types import format_value

if TYPE_CHECKING:
    from policy_rules.api import Policy

FORMATS = ("text", "json", "csv")
CSV_COLUMNS = (
    "service",
    "outcome_before",
    "outcome_after",
    "priority_before",
    "priority_after",
    "elements_before",
    "elements_after",
    "needed_facts_before",
    "needed_facts_after",
    "decided_by_before",
    "decided_by_after",
    "changed",
)
#: What is compared, in the order a change lists them.
ASPECTS = ("outcome", "priority", "elements", "needed_facts", "results")


@attrs.frozen
class Side:
    """One version's decision of a service, reduced to what the diff compares (or the error that stopped it)."""

    outcome: str
    priority: str | None
    elements: tuple[tuple[str, str], ...]
    needed_facts: tuple[str, ...]
    decided_by: str | None
    message: str | None = None
    #: The header's results, each name with its value as the JSON decision gives it.
    results: tuple[tuple[str, Any], ...] = ()
    #: The same results as an officer reads them (``£9,500``), for the text of a change; not compared.
    shown_results: tuple[tuple[str, str], ...] = attrs.field(default=(), eq=False)

    @classmethod
    def of(cls, decision: Decision) -> Side:
        elements = tuple((e.name, e.outcome) for e in decision.elements)
        results = tuple((name, value) for name, value, _shown in decision.results)
        shown = tuple((name, text) for name, _value, text in decision.results)
        return cls(decision.outcome, decision.priority, elements, decision.needed_facts, decision.decided_by, None, results, shown)

    @classmethod
    def failed(cls, error: PolicyError) -> Side:
        return cls("conflict" if isinstance(error, ConflictError) else "error", None, (), (), None, error.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "outcome": self.outcome,
            "priority": self.priority,
            "elements": [{"name": n, "outcome": o} for n, o in self.elements],
            "needed_facts": list(self.needed_facts),
            "decided_by": self.decided_by,
        }
        if self.message is not None:
            data["message"] = self.message
        if self.results:
            data["results"] = dict(self.results)
        return data


@attrs.frozen
class Change:
    """A service both versions decide differently: its name, its place in the register, and each side."""

    service: str
    index: int
    before: Side
    after: Side

    @property
    def changed(self) -> tuple[str, ...]:
        """Which of outcome, priority, elements and needed facts differ (an error's message counts as its outcome)."""
        found = tuple(a for a in ASPECTS if getattr(self.before, a) != getattr(self.after, a))
        if not found and self.before.message != self.after.message:
            return ("outcome",)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "changed": list(self.changed), "before": self.before.to_dict(), "after": self.after.to_dict()}


@attrs.define
class DiffSummary:
    """How many services were compared and changed, and how many moved from each outcome to each other."""

    services: int = 0
    changed: int = 0
    moves: Counter[tuple[str, str]] = attrs.Factory(Counter)
    by_aspect: Counter[str] = attrs.Factory(Counter)
    #: For each money result: its total over every service (those it is known for) before and after.
    totals: dict[str, list[Decimal]] = attrs.Factory(dict)
    #: For each money result: how many services it is unknown for, before and after (left out of its totals).
    unknown: dict[str, list[int]] = attrs.Factory(dict)

    def count(self, money: tuple[str, ...], before: Side, after: Side) -> None:
        """Add one service's money results to the totals before and after."""
        for index, side in enumerate((before, after)):
            values = dict(side.results)
            for name in money:
                total = self.totals.setdefault(name, [Decimal(0), Decimal(0)])
                missing = self.unknown.setdefault(name, [0, 0])
                if values.get(name) is not None:
                    total[index] += Decimal(values[name])
                else:
                    missing[index] += 1

    def add(self, change: Change) -> None:
        self.changed += 1
        self.moves[(change.before.outcome, change.after.outcome)] += 1
        self.by_aspect.update(change.changed)

    def ordered_moves(self) -> list[tuple[str, str, int]]:
        return [(a, b, n) for (a, b), n in sorted(self.moves.items(), key=lambda m: (-m[1], m[0]))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": self.services,
            "changed": self.changed,
            "unchanged": self.services - self.changed,
            "by_outcome": [{"from": a, "to": b, "services": n} for a, b, n in self.ordered_moves()],
            "by_aspect": {a: self.by_aspect[a] for a in ASPECTS if self.by_aspect[a]},
            **({"totals": {n: self._total(n) for n in self.totals}} if self.totals else {}),
        }

    def _total(self, name: str) -> dict[str, Any]:
        (before, after), (unknown_before, unknown_after) = self.totals[name], self.unknown.get(name, [0, 0])
        return {
            "before": _pence(before),
            "after": _pence(after),
            "change": _pence(after - before),
            **({"unknown_before": unknown_before, "unknown_after": unknown_after} if unknown_before or unknown_after else {}),
        }


def _pence(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _money_results(old: Policy, new: Policy) -> tuple[str, ...]:
    """The results both versions report as money: their totals are compared."""
    kinds = [{n: p.model.name_types[n].kind for n in p.model.results} for p in (old, new)]
    return tuple(n for n in new.model.results if kinds[0].get(n) == "money" and kinds[1].get(n) == "money")


def _side(policy: Policy, service: ServiceFacts, as_of: date) -> Side:
    try:
        return Side.of(policy.evaluate(service.raw, as_of, trace=False, path=service.path, index=service.index))
    except PolicyError as error:
        return Side.failed(error)


def _name(old: Policy, new: Policy, service: ServiceFacts) -> str:
    """The service's name as the register gives it (by the new version's declarations, else the old's), else its place."""
    name = service_name(new.model, service.raw, service.index)
    return service_name(old.model, service.raw, service.index) if name.startswith("#") else name


def compare(old: Policy, new: Policy, services: Iterable[ServiceFacts], as_of: date) -> Iterable[Change | DiffSummary]:
    """Each change as it is found, then the summary: one pass over ``services``, nothing kept but the counts."""
    summary = DiffSummary()
    money = _money_results(old, new)
    for service in services:
        summary.services += 1
        before = _side(old, service, as_of)
        after = _side(new, service, as_of)
        if money:
            summary.count(money, before, after)
        if before == after:
            continue
        change = Change(_name(old, new, service), service.index, before, after)
        summary.add(change)
        yield change
    yield summary


class DiffWriter:
    """Writes the changes in one of ``FORMATS`` as they come, then the summary; JSON as one document written piece by piece."""

    def __init__(self, out: IO[str], fmt: str, old: Policy, new: Policy, as_of: date) -> None:
        self.out, self.fmt, self.old, self.new, self.as_of = out, fmt, old, new, as_of
        self._first = True
        if fmt == "csv":
            self._csv = csv.writer(out, lineterminator="\n")
            self._csv.writerow(CSV_COLUMNS)
        elif fmt == "json":
            head = {"before": old.info.to_dict(), "after": new.info.to_dict(), "as_of": as_of.isoformat()}
            out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "changes": [')

    def change(self, change: Change) -> None:
        if self.fmt == "json":
            self.out.write(("\n  " if self._first else ",\n  ") + json.dumps(change.to_dict(), ensure_ascii=False))
        elif self.fmt == "csv":
            b, a = change.before, change.after
            cells = [
                change.service,
                b.outcome,
                a.outcome,
                b.priority or "",
                a.priority or "",
                _elements(b),
                _elements(a),
                "; ".join(b.needed_facts),
                "; ".join(a.needed_facts),
                b.decided_by or "",
                a.decided_by or "",
                "; ".join(change.changed),
            ]
            self._csv.writerow([for_csv_cell(c) for c in cells])
        else:
            self.out.write(for_terminal(_change_text(change), keep_lines=True) + "\n\n")
        self._first = False

    def finish(self, summary: DiffSummary) -> None:
        if self.fmt == "json":
            self.out.write(("" if self._first else "\n") + '], "summary": ' + json.dumps(summary.to_dict(), ensure_ascii=False) + "}\n")
        elif self.fmt == "text":
            self.out.write(for_terminal(_summary_text(summary, self.old, self.new, self.as_of), keep_lines=True))


def _elements(side: Side) -> str:
    return "; ".join(f"{n}: {o}" for n, o in side.elements)


def _shown(side: Side, aspect: str) -> str:
    value = getattr(side, aspect)
    if aspect == "elements":
        return _elements(side) or "(none)"
    if aspect == "needed_facts":
        return ", ".join(value) or "(none)"
    if aspect == "outcome" and side.message is not None:
        return f"{value} ({side.message})"
    return value or "(none)"


def _change_text(change: Change) -> str:
    b, a = change.before, change.after
    lines = [f"{change.service} (#{change.index + 1})"]
    for aspect in change.changed:
        if aspect == "results":
            lines.extend(_results_text(b, a))
            continue
        lines.append(f"  {aspect.replace('_', ' ')}: {_shown(b, aspect)} -> {_shown(a, aspect)}")
    lines.append(f"  outcome decided by: {b.decided_by or '(no rule)'} -> {a.decided_by or '(no rule)'}")
    return "\n".join(lines)


def _results_text(before: Side, after: Side) -> list[str]:
    """One line for each result whose value changed, as an officer reads it: ``grant_amount: £30,000 -> £35,000``."""
    old, new = dict(before.results), dict(after.results)
    shown_old, shown_new = dict(before.shown_results), dict(after.shown_results)
    return [
        f"  {name}: {shown_old.get(name, '(none)')} -> {shown_new.get(name, '(none)')}"
        for name in (*old, *(n for n in new if n not in old))
        if old.get(name) != new.get(name)
    ]


def _summary_text(summary: DiffSummary, old: Policy, new: Policy, as_of: date) -> str:
    versions = f"{old.info.name} {old.info.version} ({old.info.digest[:19]}) -> {new.info.name} {new.info.version} ({new.info.digest[:19]})"
    lines = [f"{versions}, as of {as_of.isoformat()}"]
    noun = "service" if summary.services == 1 else "services"
    lines.append(f"{summary.changed:,} of {summary.services:,} {noun} decided differently")
    for a, b, n in summary.ordered_moves():
        lines.append(f"  {a} -> {b}: {n:,}" if a != b else f"  {a} (same outcome; priority, elements, needed facts or results changed): {n:,}")
    for name, (before, after) in summary.totals.items():
        change = after - before
        sign = "+" if change >= 0 else "-"
        missing = summary.unknown.get(name, [0, 0])
        left_out = ""
        if any(missing):
            noun = "service" if missing[0] == 1 else "services"
            counts = f"{missing[0]:,} {noun}" if missing[0] == missing[1] else f"{missing[0]:,} {noun} before and {missing[1]:,} after"
            left_out = f"; not counted where unknown: {counts}"
        lines.append(
            f"  {name}: total {format_value(before, 'money')} before, {format_value(after, 'money')} after, "
            f"change {sign}{format_value(abs(change), 'money')}{left_out}"
        )
    return "\n".join(lines) + "\n"
