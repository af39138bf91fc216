"""The rule coverage that a run of the features reports, and when it fails the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policy_rules.registers.facts import read_facts_file
from policy_rules.testing.plugin import FolderCoverage, policy_at, scenario_count

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "haringey"
ALL_CLEAR = dict(read_facts_file(str(Path(__file__).parent / "all-clear.yaml")).services[0].raw)
NESTED = "POLICY_RULES_COVERAGE_SELF_TEST"


def coverage_after(*services: dict[str, object]) -> FolderCoverage:
    policy = policy_at(RULES)
    coverage = FolderCoverage.of(policy, ROOT)
    for facts in services:
        coverage.record(policy.evaluate(facts, as_of="2020-01-01"))
    return coverage


def rule_lines() -> dict[str, str]:
    """Where each rule of the folder is (a rule, or a row of a first-of table), found in the files' text: ``FILE:LINE`` by label."""
    found = {}
    for path in sorted(RULES.glob("*.rules")):
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            match = re.match(r"\s*(?:rule|row|otherwise)\s+(\w+)", line)
            if match:
                found[match.group(1)] = f"{path.relative_to(ROOT).as_posix()}:{number}"
    return found


def test_every_rule_of_the_folder_is_listed_with_where_it_is() -> None:
    coverage = coverage_after()
    assert set(coverage.rules) == set(policy_at(RULES).model.rules)
    assert {label: info.location for label, info in coverage.rules.items()} == rule_lines()
    assert coverage.count == 0
    assert coverage.headline("rules/haringey").startswith(f"Rule coverage of rules/haringey: 0/{len(coverage.rules)} rules")


def test_a_default_rule_is_covered_when_seen_deciding_and_overridden() -> None:
    deciding = coverage_after(ALL_CLEAR)
    assert deciding.applying("insource_by_default") > 0
    assert not deciding.covered("insource_by_default")
    both = coverage_after(ALL_CLEAR, {**ALL_CLEAR, "nhs_expertise": "yes"})
    assert both.covered("insource_by_default")


def test_an_exception_is_covered_when_seen_applying_and_not_applying() -> None:
    coverage = coverage_after(ALL_CLEAR, {**ALL_CLEAR, "nhs_expertise": "yes"})
    assert coverage.covered("partner_with_nhs")


def test_an_exception_overridden_before_its_condition_was_tried_is_not_seen_applying() -> None:
    # The NHS partnership overrides the voluntary sector one without asking whether the sector reaches anyone.
    coverage = coverage_after(ALL_CLEAR, {**ALL_CLEAR, "nhs_expertise": "yes"})
    assert coverage.applying("partner_with_vcs") == 0
    assert not coverage.covered("partner_with_vcs")
    assert "NO: never seen applying" in "\n".join(coverage.table())


def test_an_outline_counts_once_an_examples_row(tmp_path: Path) -> None:
    (tmp_path / "a.feature").write_text(
        "Feature: A\n  Scenario: one\n    Given x\n\n  Scenario Outline: two\n    Given <y>\n\n"
        "    Examples:\n      | y |\n      | 1 |\n      | 2 |\n\n    Examples:\n      | y |\n      | 3 |\n",
        encoding="utf-8",
    )
    assert scenario_count(tmp_path) == 4


@pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="already inside the coverage self-test")
def test_a_full_run_below_full_coverage_fails_and_a_partial_run_does_not(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "features", tmp_path / "features", ignore=shutil.ignore_patterns("__pycache__", "test_*.py", "*.feature"))
    shutil.copy(ROOT / "features" / "test_features.py", tmp_path / "features")
    # No scenario here ever brings in a public partner or a local provider.
    shutil.copy(ROOT / "features" / "default_insourcing.feature", tmp_path / "features")
    shutil.copy(ROOT / "features" / "phased_delivery.feature", tmp_path / "features")
    env = {**os.environ, NESTED: "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "features", "-p", "no:cacheprovider", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)

    full = run()
    assert full.returncode == 1, full.stdout + full.stderr
    assert "failed" not in full.stdout.splitlines()[-1]
    assert "NO: never seen applying" in full.stdout
    assert "FAILED: every rule of rules/haringey must be seen both applying and not applying" in full.stdout

    partial = run("-k", "not capacity")
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert "only some scenarios ran" in partial.stdout
