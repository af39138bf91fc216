"""Helpers for the step library in ``features/conftest.py``.

Nothing here is a step: these are the pieces the steps share (reading Gherkin
tables, the "all clear" service, loading rule folders once) and the rule
coverage that a run of the features reports.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from policy_rules import Decision, Policy, load_policy
from policy_rules.engine import trace as t

# --- the service's facts -------------------------------------------------------------------

ALL_CLEAR: dict[str, Any] = {
    "annual_spend": "£1,000,000",
    "in_house_annual_cost": "£1,100,000",
    "budget_available": "£1,200,000",
    "quality_concerns": "no",
    "personal_contact": "no",
    "at_risk_groups": "no",
    "affects_rights": "no",
    "exceptional_worker_demands": "no",
    "build_capacity": "no",
    "has_capacity": "yes",
    "has_capability": "yes",
    "safeguarding_concern": "no",
    "delivery_risk": "no",
    "environmentally_sustainable": "yes",
    "other_provider_better_placed": "no",
    "nhs_expertise": "no",
    "vcs_reach": "no",
    "public_partner_available": "no",
    "local_provider_available": "no",
}
"""The "all clear" service of the policy reading: nothing stands in the way of insourcing, no reason to hurry it."""

MISSING_WORDS = frozenset({"", "unknown", "not known", "missing"})
"""Cell values that leave a fact (or an element's field) out, so that it is unknown."""


def is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING_WORDS


def table_rows(datatable: Sequence[Sequence[str]], header: Sequence[str]) -> list[list[str]]:
    """The rows of a Gherkin table, without its header row when it has one.

    The header is optional: ``| fact | value |`` as a first row is skipped.
    Every row must have as many cells as the header names.
    """
    rows = [[cell.strip() for cell in row] for row in datatable]
    if rows and [cell.lower() for cell in rows[0]] == list(header):
        rows = rows[1:]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"each row of this table needs {len(header)} cells ({' | '.join(header)}), not {len(row)}: | {' | '.join(row)} |")
    return rows


def apply_fact_rows(facts: dict[str, Any], datatable: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Set the facts of a ``fact | value`` table; a value of ``unknown`` (or an empty cell) leaves the fact out."""
    for name, value in table_rows(datatable, ("fact", "value")):
        set_fact(facts, name, value)
    return facts


def set_fact(facts: dict[str, Any], name: str, value: str) -> None:
    if is_missing(value):
        facts.pop(name, None)
    else:
        facts[name] = value


def elements_from(datatable: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """The ``elements`` fact from a ``name | specialist`` table; an empty or ``unknown`` specialist cell leaves it unknown."""
    elements = []
    for name, specialist in table_rows(datatable, ("name", "specialist")):
        element = {"name": name}
        if not is_missing(specialist):
            element["specialist"] = specialist
        elements.append(element)
    return elements


def names_in(text: str) -> list[str]:
    """Names written as a list in a step: ``a, b and c`` (commas and "and" both separate)."""
    return [name for name in re.split(r"\s*,\s*|\s+and\s+", text.strip()) if name]


# --- rule folders --------------------------------------------------------------------------


@cache
def policy_at(path: str) -> Policy:
    """A rule folder (or file), loaded once for the whole run."""
    return load_policy(path)


def resolve(root: Path, folder: str) -> Path:
    """A rule folder named in a step, relative to the project's root folder (shown relative to the working folder when inside it)."""
    path = Path(folder)
    if not path.is_absolute():
        path = root / path
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def folder_key(folder: str) -> str:
    """The name under which a rule folder's coverage is reported: as written, without a trailing slash."""
    return Path(folder).as_posix().rstrip("/") or "."


def rules_considered(decision: Decision) -> Iterable[t.RuleConsidered]:
    """Every rule the decision's trace shows, for the service and for each of its elements."""
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.rule is not None:
            yield from event.rule.walk()


# --- rule coverage -------------------------------------------------------------------------

APPLYING = frozenset({"decided", "applies", "overridden"})
NOT_APPLYING = frozenset({"does_not_apply"})
OVERRIDDEN_UNTRIED = "overridden_untried"


def seen_as(rule: t.RuleConsidered) -> str:
    """The status a rule is counted under; an exception overridden before its condition was tried is not seen applying.

    The engine marks an exception ``overridden`` when an exception to it
    applies, without working out its own condition (``condition`` is then
    None): whether it would have applied is not known, so it does not count.
    """
    if rule.status == "overridden" and rule.kind == "exception" and (rule.condition is None or rule.condition.value != "true"):
        return OVERRIDDEN_UNTRIED
    return rule.status


@dataclass(frozen=True)
class RuleInfo:
    label: str
    default: bool
    location: str


@dataclass
class FolderCoverage:
    """What the scenarios saw of the rules of one folder: each rule's statuses, counted over every decision."""

    rules: dict[str, RuleInfo]
    seen: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: Policy, root: Path | None = None) -> FolderCoverage:
        rules = {}
        for label, decl in policy.model.rules.items():
            path = Path(decl.span.path)
            if root is not None and path.is_absolute():
                with contextlib.suppress(ValueError):
                    path = path.relative_to(root)
            rules[label] = RuleInfo(label, decl.is_default, f"{path.as_posix()}:{decl.span.line}")
        return cls(rules)

    def record(self, decision: Decision) -> None:
        for rule in rules_considered(decision):
            self.seen.setdefault(rule.label, Counter())[seen_as(rule)] += 1

    def applying(self, label: str) -> int:
        """How often the rule was seen applying: deciding, for a default rule (it has no condition)."""
        seen = self.seen.get(label, Counter())
        if self.rules[label].default:
            return seen["decided"]
        return sum(seen[s] for s in APPLYING)

    def not_applying(self, label: str) -> int:
        """How often the rule was seen not applying: overridden, for a default rule (it can never fail to apply)."""
        seen = self.seen.get(label, Counter())
        if self.rules[label].default:
            return seen["overridden"]
        return sum(seen[s] for s in NOT_APPLYING)

    def covered(self, label: str) -> bool:
        return self.applying(label) > 0 and self.not_applying(label) > 0

    @property
    def count(self) -> int:
        return sum(1 for label in self.rules if self.covered(label))

    @property
    def complete(self) -> bool:
        return self.count == len(self.rules)

    def percent(self) -> int:
        # Rounded down, so that 99.5% never shows as 100%.
        return 100 * self.count // len(self.rules) if self.rules else 100

    def headline(self, folder: str) -> str:
        return f"Rule coverage of {folder}: {self.count}/{len(self.rules)} rules seen applying and not applying ({self.percent()}%)"

    def table(self) -> list[str]:
        """One line a rule: where it is, how often it was seen applying and not applying, and what is missing."""
        width = max((len(label) for label in self.rules), default=4)
        where = max((len(r.location) for r in self.rules.values()), default=5)
        lines = [f"  {'rule':<{width}}  {'kind':<9}  {'where':<{where}}  {'applying':>8}  {'not applying':>12}  covered"]
        for label, info in self.rules.items():
            applying, not_applying = self.applying(label), self.not_applying(label)
            if applying and not_applying:
                verdict = "yes"
            elif info.default:
                verdict = "NO: never seen " + " or ".join(w for w, n in (("deciding", applying), ("overridden", not_applying)) if not n)
            else:
                verdict = "NO: never seen " + " or ".join(w for w, n in (("applying", applying), ("not applying", not_applying)) if not n)
            kind = "default" if info.default else "exception"
            lines.append(f"  {label:<{width}}  {kind:<9}  {info.location:<{where}}  {applying:>8}  {not_applying:>12}  {verdict}")
        lines.append("  (applying: decided, applied, or overridden with its condition holding; an exception overridden before its")
        lines.append("   condition was tried does not count. A default rule has no condition: it counts as applying when it decides,")
        lines.append("   and as not applying when an exception overrides it.)")
        return lines


@dataclass
class RuleCoverage:
    """The coverage of every rule folder the steps applied in one pytest session, and which scenarios ran."""

    folders: dict[str, FolderCoverage] = field(default_factory=dict)
    scenarios_run: set[str] = field(default_factory=set)

    def record(self, folder: str, policy: Policy, decision: Decision, root: Path | None = None) -> None:
        coverage = self.folders.get(folder)
        if coverage is None:
            coverage = self.folders[folder] = FolderCoverage.of(policy, root)
        coverage.record(decision)

    def of(self, folder: str, root: Path) -> FolderCoverage:
        """The coverage of a folder, with every rule unseen when no scenario applied it."""
        if folder not in self.folders:
            return FolderCoverage.of(policy_at(str(resolve(root, folder))), root)
        return self.folders[folder]


def scenario_count(features_dir: Path) -> int:
    """How many tests the feature files under a folder make: one a scenario, one an Examples row of an outline."""
    from pytest_bdd.feature import get_features

    total = 0
    for feature in get_features([str(features_dir)]):
        for scenario in feature.scenarios.values():
            total += sum(len(examples.examples) for examples in scenario.examples) or 1
    return total
