"""The pytest plugin of policy_rules: scenarios of any policy, and their rule coverage.

Registered through the ``pytest11`` entry point, so that a folder of
``.feature`` files describing a policy needs no Python of its own: the steps
(``policy_rules.testing.steps``) are loaded with it when pytest-bdd is
installed, and the plugin does nothing else in a run without scenarios.

Every decision the steps make is counted for rule coverage: at the end of the
run a table says, for every rule of each policy applied, whether the
scenarios saw it both applying and not applying. When every scenario of the
features folder ran, a rule not seen both ways fails the run (the ini option
``policy_rules_coverage = report`` only reports it).
"""

from __future__ import annotations

import contextlib
import os.path
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from policy_rules import Decision, Policy, load_policy
from policy_rules.engine import trace as t

pytest_plugins = ["policy_rules.testing.steps"] if find_spec("pytest_bdd") is not None else []

POLICY_OPTION = "policy_rules_policy"
COVERAGE_OPTION = "policy_rules_coverage"
COVERAGE_MODES = ("require", "report")

COVERAGE = pytest.StashKey["RuleCoverage"]()
FULL_RUN = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(POLICY_OPTION, "the policy (a rule folder or file) scenarios apply when none of their steps names one; relative to the rootdir", default="")
    parser.addini(
        COVERAGE_OPTION,
        "require: a run of every scenario fails when a rule of a policy applied was not seen both applying and not applying; report: only report it",
        default="require",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "worked-example: a worked example of the policy's reading, checked as written there")
    config.addinivalue_line("markers", "engine-bug: the scenario states the correct behaviour and fails because of a known engine bug")


# --- policies ----------------------------------------------------------------------------------


@cache
def policy_at(path: Path) -> Policy:
    """A rule folder (or file), loaded once for the whole run."""
    return load_policy(path)


def shown_path(path: Path, root: Path) -> str:
    """A path as a report shows it: relative to the rootdir when inside it, with forward slashes."""
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(root.resolve())
    return path.as_posix().rstrip("/") or "."


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
    """What the scenarios saw of the rules of one policy: each rule's statuses, counted over every decision."""

    rules: dict[str, RuleInfo]
    seen: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: Policy, root: Path | None = None) -> FolderCoverage:
        rules = {}
        for label, decl in policy.model.rules.items():
            path = Path(decl.span.path)
            where = shown_path(path, root) if root is not None and path.is_absolute() else path.as_posix()
            rules[label] = RuleInfo(label, decl.is_default, f"{where}:{decl.span.line}")
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
    """The coverage of every policy the steps applied in one pytest session, and which scenarios ran from which folders."""

    folders: dict[str, FolderCoverage] = field(default_factory=dict)
    scenarios_run: set[str] = field(default_factory=set)
    feature_files: set[Path] = field(default_factory=set)

    def record(self, folder: str, policy: Policy, decision: Decision, root: Path | None = None) -> None:
        coverage = self.folders.get(folder)
        if coverage is None:
            coverage = self.folders[folder] = FolderCoverage.of(policy, root)
        coverage.record(decision)


def coverage_of(config: pytest.Config) -> RuleCoverage:
    return config.stash.setdefault(COVERAGE, RuleCoverage())


def scenario_count(features_dir: Path) -> int:
    """How many tests the feature files under a folder make: one a scenario, one an Examples row of an outline."""
    from pytest_bdd.feature import get_features

    total = 0
    for feature in get_features([str(features_dir)]):
        for scenario in feature.scenarios.values():
            total += sum(len(examples.examples) for examples in scenario.examples) or 1
    return total


def features_root(config: pytest.Config, coverage: RuleCoverage) -> Path:
    """The folder whose scenarios make a whole run: pytest-bdd's ``bdd_features_base_dir``, else the folder the scenarios run came from."""
    base = config.getini("bdd_features_base_dir")
    if isinstance(base, str) and base:
        return config.rootpath / base
    folders = sorted({str(path.parent) for path in coverage.feature_files})
    return Path(os.path.commonpath(folders)) if folders else config.rootpath


def _full_run(config: pytest.Config, coverage: RuleCoverage) -> bool:
    """Whether every scenario of the features folder ran (none left out by -k, -m, a node id, --lf or -x)."""
    run = coverage.scenarios_run
    return bool(run) and len(run) == scenario_count(features_root(config, coverage))


def _required(config: pytest.Config) -> bool:
    mode = config.getini(COVERAGE_OPTION)
    if mode not in COVERAGE_MODES:
        raise pytest.UsageError(f"{COVERAGE_OPTION} is {mode!r}; write one of {', '.join(COVERAGE_MODES)}")
    return mode == "require"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    coverage = coverage_of(config)
    if not coverage.scenarios_run:
        return
    full = config.stash[FULL_RUN] = _full_run(config, coverage)
    if full and _required(config) and exitstatus == pytest.ExitCode.OK and not all(f.complete for f in coverage.folders.values()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    coverage = coverage_of(config)
    if not coverage.scenarios_run:
        return
    full = config.stash.get(FULL_RUN, False)
    required = _required(config)
    terminalreporter.section("rule coverage")
    for folder, folder_coverage in coverage.folders.items():
        terminalreporter.write_line(folder_coverage.headline(folder))
        for line in folder_coverage.table():
            terminalreporter.write_line(line)
        if not folder_coverage.complete and required:
            if full:
                message = f"FAILED: every rule of {folder} must be seen both applying and not applying; add scenarios for the rules marked NO"
                terminalreporter.write_line(message, red=True)
            else:
                terminalreporter.write_line("(only some scenarios ran: coverage below 100% does not fail this run)")
