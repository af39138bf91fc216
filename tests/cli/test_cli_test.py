"""`policy-rules test` as a whole process: the lines printed for each failing case, the last line, and the exit status."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.support.case_policies import UNDATED, write_policy
from tests.support.cli_helpers import run_cli

CASES = """as_of: 2025-02-01
cases:
  - name: low income gets a grant
    facts: {applicant: A, income: 22000, carer: no, disabled: no}
    expect: {outcome: grant, priority: routine, reasons: [], needed_facts: [], decided_by: grant_on_low_income}
  - name: a carer is urgent
    facts: {applicant: B, income: 30000, carer: yes, disabled: no}
    expect: {outcome: refuse, priority: urgent, reasons: [carer]}
"""

FAILING = """name: the old limit refuses
as_of: 2024-06-01
facts: {applicant: C, income: 22000, carer: no, disabled: no}
expect: {outcome: grant, priority: routine}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_policy(tmp_path)
    (tmp_path / "cases" / "more").mkdir(parents=True)
    (tmp_path / "cases" / "grants.yaml").write_text(CASES, encoding="utf-8")
    return tmp_path


def test_every_case_passing_exits_0_with_the_tally_last(folder: Path) -> None:
    run = run_cli("test", "rules", "cases/grants.yaml", cwd=folder)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "2 passed, 0 failed"
    assert "Traceback" not in run.stderr


def test_a_failing_case_shows_expected_against_found_and_the_deciding_rule(folder: Path) -> None:
    (folder / "cases" / "more" / "old.yaml").write_text(FAILING, encoding="utf-8")
    run = run_cli("test", "rules", "cases", cwd=folder)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == f"FAILED {Path('cases/more/old.yaml')}: the old limit refuses"
    assert "  as of 2024-06-01" in lines
    assert "  outcome: expected grant, got refuse" in lines
    assert f"  decided by rule refuse_by_default ({Path('rules/policy.rules')}:31)" in lines
    assert not any("priority" in line for line in lines)  # the priority is as expected
    assert lines[-1] == "2 passed, 1 failed"


def test_folders_are_read_recursively_in_order_and_verbose_lists_passes(folder: Path) -> None:
    (folder / "cases" / "more" / "old.yaml").write_text(FAILING.replace("outcome: grant", "outcome: refuse"), encoding="utf-8")
    run = run_cli("test", "rules", "cases", "-v", cwd=folder)
    assert run.returncode == 0, run.stdout
    passed = [line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("passed ")]
    assert passed == ["low income gets a grant", "a carer is urgent", "the old limit refuses"]


def test_k_runs_the_cases_whose_name_contains_a_text(folder: Path) -> None:
    run = run_cli("test", "rules", "cases", "-k", "CARER", cwd=folder)
    assert (run.returncode, run.stdout.splitlines()[-1]) == (0, "1 passed, 0 failed")
    none = run_cli("test", "rules", "cases", "-k", "nothing like it", cwd=folder)
    assert none.returncode == 2
    assert "no case's name contains `nothing like it`" in none.stderr


def test_json_gives_one_object_per_case_and_the_tally_on_stderr(folder: Path) -> None:
    (folder / "cases" / "more" / "old.yaml").write_text(FAILING, encoding="utf-8")
    run = run_cli("test", "rules", "cases", "--format", "json", cwd=folder)
    assert run.returncode == 1
    results = json.loads(run.stdout)
    assert [(r["name"], r["status"]) for r in results] == [
        ("low income gets a grant", "passed"),
        ("a carer is urgent", "passed"),
        ("the old limit refuses", "failed"),
    ]
    failed = results[2]
    assert failed["mismatches"] == [{"key": "outcome", "expected": "grant", "actual": "refuse"}]
    assert failed["actual"] == {"outcome": "refuse", "priority": "routine"}
    assert (failed["decided_by"], failed["as_of"]) == ("refuse_by_default", "2024-06-01")
    assert run.stderr.splitlines()[-1] == "2 passed, 1 failed"


def test_a_malformed_case_file_is_bad_input_and_no_case_runs(folder: Path) -> None:
    (folder / "cases" / "more" / "bad.yaml").write_text("name: x\nfacts: {}\nexpect: {outcome: grant, priorty: urgent}\n", encoding="utf-8")
    (folder / "cases" / "more" / "worse.json").write_text("{", encoding="utf-8")
    run = run_cli("test", "rules", "cases", cwd=folder)
    assert run.returncode == 2
    assert f"{Path('cases/more/bad.yaml')}: case 'x': `expect.priorty`: error: " in run.stderr
    assert "did you mean `priority`?" in run.stderr
    assert f"{Path('cases/more/worse.json')}: error: line 1, column 2: this is not valid JSON" in run.stderr
    assert "2 case files cannot be used; no case was run" in run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr


def test_facts_a_case_cannot_give_are_bad_input_reported_with_the_case(folder: Path) -> None:
    (folder / "cases" / "more" / "typo.yaml").write_text("name: typo\nfacts: {incom: 3}\nexpect: {outcome: grant}\n", encoding="utf-8")
    run = run_cli("test", "rules", "cases", cwd=folder)
    assert run.returncode == 2
    assert f"ERROR {Path('cases/more/typo.yaml')}: typo" in run.stdout
    assert "case 'typo': `facts.incom`: error:" in run.stdout
    assert run.stdout.splitlines()[-1] == "2 passed, 0 failed, 1 could not be run"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rules", "cases/missing.yaml"), "there is no such file or folder"),
        (("missing-rules", "cases"), "there is no such file or folder"),
        (("rules", "rules"), "this folder holds no case files"),
    ],
)
def test_missing_and_empty_inputs_are_bad_input(folder: Path, args: tuple[str, ...], message: str) -> None:
    run = run_cli("test", *args, cwd=folder)
    assert run.returncode == 2
    assert message in run.stderr


def test_rules_that_do_not_check_are_bad_input(folder: Path) -> None:
    (folder / "rules" / "policy.rules").write_text('policy "x"\n  outcome nothing\n', encoding="utf-8")
    run = run_cli("test", "rules", "cases", cwd=folder)
    assert run.returncode == 2
    assert "error:" in run.stderr and "Traceback" not in run.stderr


def test_undated_cases_of_a_dated_policy_say_the_date_used(folder: Path) -> None:
    (folder / "cases" / "grants.yaml").write_text(CASES.replace("as_of: 2025-02-01\n", ""), encoding="utf-8")
    run = run_cli("test", "rules", "cases", cwd=folder)
    assert f"note: 2 cases without `as_of` decided as at {date.today().isoformat()} (today)" in run.stderr
    write_policy(folder, UNDATED)
    assert "note:" not in run_cli("test", "rules", "cases", cwd=folder).stderr


def test_help_describes_the_command() -> None:
    run = run_cli("test", "--help")
    assert run.returncode == 0
    assert "N passed, N failed" in run.stdout and "-k TEXT" in run.stdout
