"""Whole-register runs: decide every service of a register, write the decisions, summarise.

A register is a facts file with many services (CSV, YAML or JSON). Decisions
stream to a CSV or JSON Lines file as they are made; the summary counts
services and annual spend per outcome, lists the high-priority services, and
the undetermined ones with the facts they need, the most commonly needed
first.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs

from policy_rules.api import Policy
from policy_rules.decision import Decision
from policy_rules.errors import ConflictError, FactsError, PolicyError, UsageError
from policy_rules.escape import for_csv_cell
from policy_rules.facts import ServiceFacts, _number, service_name
from policy_rules.outputs import AtomicFile
from policy_rules.values import UNKNOWN

CSV_COLUMNS = (
    "service",
    "outcome",
    "priority",
    "reasons",
    "elements",
    "needed_facts",
    "decided_by",
    "annual_spend",
    "as_of",
    "policy_version",
    "policy_digest",
    "status",
    "message",
)


@attrs.define
class OutcomeTotal:
    services: int = 0
    spend: Decimal = Decimal(0)


@attrs.define
class Summary:
    """What a register run found, ready to render."""

    policy: str
    version: str
    digest: str
    as_of: str
    spend_fact: str | None
    services: int = 0
    decided: int = 0
    errors: list[str] = attrs.Factory(list)
    facts_errors: int = 0
    rule_conflicts: int = 0
    evaluation_errors: int = 0
    by_outcome: dict[str, OutcomeTotal] = attrs.Factory(dict)
    by_priority: Counter[str] = attrs.Factory(Counter)
    high_priority: list[tuple[str, str, Decimal | None, tuple[str, ...]]] = attrs.Factory(list)
    undetermined: list[tuple[str, tuple[str, ...]]] = attrs.Factory(list)
    needed_counts: Counter[str] = attrs.Factory(Counter)

    @property
    def total_spend(self) -> Decimal:
        return sum((t.spend for t in self.by_outcome.values()), Decimal(0))

    def add(self, decision: Decision, spend: Decimal | None) -> None:
        self.decided += 1
        total = self.by_outcome.setdefault(decision.outcome, OutcomeTotal())
        total.services += 1
        total.spend += spend or Decimal(0)
        if decision.priority is not None:
            self.by_priority[decision.priority] += 1
        name = decision.service or "(unnamed)"
        if decision.priority == "high":
            self.high_priority.append((name, decision.outcome, spend, decision.reasons))
        if decision.needed_facts:
            self.undetermined.append((name, decision.needed_facts))
            self.needed_counts.update(_general(f) for f in decision.needed_facts)

    def add_error(self, error: PolicyError) -> None:
        """Count a service that could not be decided, by what is wrong: its facts, the rules, or a calculation."""
        self.errors.append(str(error))
        if isinstance(error, FactsError):
            self.facts_errors += 1
        elif isinstance(error, ConflictError):
            self.rule_conflicts += 1
        else:
            self.evaluation_errors += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {"name": self.policy, "version": self.version, "digest": self.digest},
            "as_of": self.as_of,
            "services": self.services,
            "decided": self.decided,
            "errors": list(self.errors),
            "facts_errors": self.facts_errors,
            "rule_conflicts": self.rule_conflicts,
            "evaluation_errors": self.evaluation_errors,
            "spend_fact": self.spend_fact,
            "by_outcome": {k: {"services": v.services, "spend": _num(v.spend)} for k, v in sorted(self.by_outcome.items())},
            "by_priority": dict(sorted(self.by_priority.items())),
            "high_priority": [{"service": s, "outcome": o, "spend": _num(sp), "reasons": list(r)} for s, o, sp, r in self.high_priority],
            "undetermined": [{"service": s, "needed_facts": list(n)} for s, n in self.undetermined],
            "most_needed_facts": [{"fact": f, "services": c} for f, c in self.most_needed()],
        }

    def most_needed(self) -> list[tuple[str, int]]:
        return sorted(self.needed_counts.items(), key=lambda fc: (-fc[1], fc[0]))


def _general(fact: str) -> str:
    """``elements[3].specialist`` counts as ``elements[].specialist`` across services."""
    if "[" not in fact:
        return fact
    base, _, rest = fact.partition("[")
    return f"{base}[]{rest.partition(']')[2]}"


def _num(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def spend_fact_of(policy: Policy, wanted: str | None) -> str | None:
    """The money fact that gives a service's annual spend: ``--spend FACT`` or ``annual_spend``."""
    types = policy.model.fact_types
    if wanted is not None:
        if wanted not in types or types[wanted].kind != "money":
            money = [k for k, v in types.items() if v.kind == "money"]
            from policy_rules.errors import did_you_mean

            raise UsageError(f"`{wanted}` is not a money fact of this policy{did_you_mean(wanted, money)}", "--spend")
        return wanted
    return "annual_spend" if "annual_spend" in types and types["annual_spend"].kind == "money" else None


def decisions_kind(path: str) -> str:
    """The ending of a decisions file (``.csv``, ``.jsonl`` or ``.json``), or a ``UsageError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json"):
        raise UsageError(f"cannot write decisions to a `{suffix or 'file without an ending'}` file; use .csv, .jsonl or .json", "--output")
    return suffix


class DecisionWriter:
    """Streams decisions to ``.csv`` or ``.jsonl`` (``.json`` writes one array), under a temporary name until ``close()``.

    Every service gets a row, decided or not: a service that cannot be decided
    has status ``error`` and the message, so the file accounts for the whole
    register. Text cells of the CSV that a spreadsheet would run as a formula
    are neutralised.
    """

    def __init__(self, path: str, with_trace: bool) -> None:
        suffix = decisions_kind(path)
        self.path = path
        self.kind = suffix
        self.with_trace = with_trace
        self.out = AtomicFile(path)
        self.file = self.out.file
        self.count = 0
        self.decided = 0
        if suffix == ".csv":
            self.csv = csv.writer(self.file, lineterminator="\n")
            self.csv.writerow(CSV_COLUMNS)
        elif suffix == ".json":
            self.file.write("[")

    def write(self, decision: Decision, spend: Decimal | None) -> None:
        if self.kind == ".csv":
            cell = for_csv_cell
            self.csv.writerow(
                (
                    cell(decision.service or ""),
                    cell(decision.outcome),
                    cell(decision.priority or ""),
                    cell(";".join(decision.reasons)),
                    cell(";".join(f"{e.name}={e.outcome}" for e in decision.elements)),
                    cell(";".join(decision.needed_facts)),
                    cell(decision.decided_by or ""),
                    "" if spend is None else str(_num(spend)),
                    decision.as_of,
                    cell(decision.policy.version),
                    decision.policy.digest,
                    "decided",
                    "",
                )
            )
        else:
            data = decision.to_dict()
            if not self.with_trace:
                data.pop("trace")
            data["status"] = "decided"
            self._json(data)
        self.count += 1
        self.decided += 1

    def write_error(self, service: str, error: PolicyError) -> None:
        """The row of a service that could not be decided: its name, status ``error`` and the message."""
        if self.kind == ".csv":
            self.csv.writerow((for_csv_cell(service), *[""] * (len(CSV_COLUMNS) - 3), "error", for_csv_cell(str(error))))
        else:
            self._json({"service": service, "status": "error", "error": {"message": error.message, "location": error.location}})
        self.count += 1

    def _json(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if self.kind == ".json":
            self.file.write(("," if self.count else "") + "\n" + text)
        else:
            self.file.write(text + "\n")

    def close(self) -> None:
        """Finish the file and give it its final name."""
        try:
            if self.kind == ".json":
                self.file.write("\n]\n")
        except OSError as error:
            self.discard()
            raise UsageError(f"cannot write this file ({error.strerror}); nothing was written", self.path) from None
        self.out.commit()

    def discard(self) -> None:
        """Drop what was written: the final name keeps whatever it held before."""
        self.out.discard()


class Progress:
    """A progress bar on stderr, shown only on a terminal and only for long runs."""

    def __init__(self, total: int, stream: IO[str] | None = None, minimum: int = 2000) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = total >= minimum and self.stream.isatty()
        self.step = max(total // 200, 1)

    def update(self, done: int) -> None:
        if self.enabled and (done % self.step == 0 or done == self.total):
            width = 30
            filled = width * done // self.total
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} services")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def run_register(
    policy: Policy,
    services: Iterable[ServiceFacts],
    total: int,
    as_of: date,
    *,
    writer: DecisionWriter | None,
    spend_fact: str | None,
    progress: Progress | None = None,
    on_error: Callable[[PolicyError], None] | None = None,
) -> Summary:
    """Decide every service; one that cannot be decided is counted, reported and written as an error row."""
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, as_of.isoformat(), spend_fact)
    trace = bool(writer and writer.with_trace)
    spend_kind = policy.model.fact_types[spend_fact].kind if spend_fact else ""
    for done, service in enumerate(services, start=1):
        summary.services += 1
        decision = None if trace else policy.decide_fast(service.raw, as_of, index=service.index)
        if decision is not None:
            # The facts passed the fast path's checks, so the spend is a plain amount.
            spend = _number(service.raw.get(spend_fact), spend_kind) if spend_fact else None
        else:
            try:
                typed, name = policy.facts_of(service.raw, path=service.path, index=service.index)
                decision = policy.decide(typed, name, as_of, trace=trace)
            except PolicyError as error:
                summary.add_error(error)
                if writer is not None:
                    writer.write_error(_name_of(policy, service, error), error)
                if on_error is not None:
                    on_error(error)
                if progress is not None:
                    progress.update(done)
                continue
            spend = typed.get(spend_fact) if spend_fact else None
            spend = None if spend is UNKNOWN else spend
        summary.add(decision, spend)
        if writer is not None:
            writer.write(decision, spend)
        if progress is not None:
            progress.update(done)
    if progress is not None:
        progress.finish()
    return summary


def _name_of(policy: Policy, service: ServiceFacts, error: PolicyError) -> str:
    """The name of a service that could not be decided, as its decision would have named it."""
    if isinstance(error, FactsError) and error.service is not None:
        return error.service
    raw = service.raw
    return service_name(policy.model, raw, service.index) if isinstance(raw, Mapping) else service.label
