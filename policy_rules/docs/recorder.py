"""A pytest plugin that notes each scenario's result and the rules it saw, for ``policy-rules docs``.

Its place: ``docs.scenarios`` runs the scenarios of a features folder in a
pytest process with ``-p policy_rules.docs.recorder --policy-docs-results
FILE``; the step library (``policy_rules.testing.steps``) reports every
decision it makes to the run's rule coverage, and this plugin listens there
too, so that each rule is tied to the scenarios that saw it applying and not
applying. At the end of the run the notes are written to FILE as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_rules.testing.plugin import coverage_of, rules_considered, seen_as


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--policy-docs-results", metavar="FILE", help="write each scenario's result and the rules it saw to FILE (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--policy-docs-results"):
        config.pluginmanager.register(Recorder(config), "policy-docs-recorder")


class Recorder:
    """The notes of one run: by test id, the scenario, its result and how it saw each rule."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        coverage = coverage_of(config)
        record = coverage.record

        def noting(folder: str, policy: Any, decision: Any, root: Path | None = None) -> None:
            record(folder, policy, decision, root)
            if self.current is not None:
                seen = self.results[self.current]["seen"].setdefault(str((Path(self.config.rootpath) / folder).resolve()), {})
                for rule in rules_considered(decision):
                    statuses = seen.setdefault(rule.label, [])
                    if seen_as(rule) not in statuses:
                        statuses.append(seen_as(rule))

        coverage.record = noting  # type: ignore[method-assign]

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
        self.current = request.node.nodeid
        self.results[self.current] = {
            "feature": str(Path(feature.filename).resolve()),
            "feature_name": feature.name,
            "scenario": scenario.name,
            "line": scenario.line_number,
            "status": "not run",
            "seen": {},
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """The scenario's result: a failure in any phase fails it; an expected failure (``@engine-bug``) says so."""
        noted = self.results.get(report.nodeid)
        if noted is None:
            return
        if report.failed:
            noted["status"] = "failed"
        elif hasattr(report, "wasxfail"):
            noted["status"] = "expected failure"
        elif report.when == "call" and report.passed and noted["status"] == "not run":
            noted["status"] = "passed"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = self.config.getoption("--policy-docs-results")
        Path(path).write_text(json.dumps(list(self.results.values()), indent=1), encoding="utf-8")
