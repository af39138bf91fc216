"""The date a decision is made as at: `--as-of`, else a facts file's own `as_of`, else today, said in the output when it matters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from policy_rules.errors import FactsError
from policy_rules.registers.facts import read_facts_file
from tests.support.case_policies import UNDATED, write_policy
from tests.support.cli_helpers import run_cli

SERVICES = """services:
  - {applicant: A, income: 22000, carer: no, disabled: no}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_policy(tmp_path)
    (tmp_path / "dated.yaml").write_text("as_of: 2024-06-01\n" + SERVICES, encoding="utf-8")
    (tmp_path / "undated.yaml").write_text(SERVICES, encoding="utf-8")
    return tmp_path


def decided(folder: Path, *args: str) -> tuple[str, str]:
    run = run_cli("evaluate", "rules", *args, "--format", "json", cwd=folder)
    assert run.returncode == 0, run.stderr
    (decision,) = json.loads(run.stdout)
    return decision["as_of"], decision["outcome"]


def test_a_facts_file_carries_its_date_and_the_option_wins(folder: Path) -> None:
    assert decided(folder, "dated.yaml") == ("2024-06-01", "refuse")
    assert decided(folder, "dated.yaml", "--as-of", "2025-02-01") == ("2025-02-01", "grant")


def test_json_facts_files_give_the_date_as_text(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text('{"as_of": "2024-06-01", "services": [{"income": 1}]}', encoding="utf-8")
    facts = read_facts_file(str(path))
    assert (facts.as_of, len(facts.services), facts.single) == (date(2024, 6, 1), 1, False)


@pytest.mark.parametrize("value", ["2024-13-01", "tomorrow", "2024-06-01T10:00:00", "[]"])
def test_a_date_that_is_not_one_is_an_error_of_the_file(tmp_path: Path, value: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(f"as_of: {value}\n" + SERVICES, encoding="utf-8")
    with pytest.raises(FactsError) as caught:
        read_facts_file(str(path))
    assert caught.value.location == str(path)
    assert "the top-level `as_of` is" in caught.value.message and "YYYY-MM-DD" in caught.value.message


def test_a_bad_date_in_a_facts_file_exits_2_without_a_traceback(folder: Path) -> None:
    (folder / "bad.yaml").write_text("as_of: soon\n" + SERVICES, encoding="utf-8")
    run = run_cli("evaluate", "rules", "bad.yaml", cwd=folder)
    assert run.returncode == 2
    assert "bad.yaml: error: the top-level `as_of` is" in run.stderr and "Traceback" not in run.stderr


def test_without_a_date_the_text_says_which_date_was_used(folder: Path) -> None:
    today = date.today().isoformat()
    for command in ("evaluate", "explain"):
        run = run_cli(command, "rules", "undated.yaml", cwd=folder)
        assert run.returncode == 0
        assert run.stdout.splitlines()[0] == f"Note: decided as at {today} (today): neither --as-of nor an `as_of` in the facts file gives the date"


def test_without_a_date_json_is_unchanged_and_the_note_goes_to_stderr(folder: Path) -> None:
    today = date.today().isoformat()
    without = run_cli("evaluate", "rules", "undated.yaml", "--format", "json", cwd=folder)
    given = run_cli("evaluate", "rules", "undated.yaml", "--format", "json", "--as-of", today, cwd=folder)
    assert without.stdout == given.stdout
    assert f"note: decided as at {today} (today)" in without.stderr
    assert "note:" not in given.stderr


def test_no_note_when_a_date_is_given_or_cannot_matter(folder: Path) -> None:
    assert "Note:" not in run_cli("evaluate", "rules", "dated.yaml", cwd=folder).stdout
    assert "Note:" not in run_cli("evaluate", "rules", "undated.yaml", "--as-of", "2025-01-01", cwd=folder).stdout
    write_policy(folder, UNDATED)
    run = run_cli("evaluate", "rules", "undated.yaml", cwd=folder)
    assert "Note:" not in run.stdout and "note:" not in run.stderr


def test_a_policy_reading_today_also_gets_the_note(folder: Path) -> None:
    from policy_rules import load_policy
    from policy_rules.cli import _date_matters

    assert _date_matters(load_policy(folder / "rules"))
    write_policy(folder, UNDATED + '\n# today is not read here\nfact today_note is text\n  means "not today"\n')
    assert not _date_matters(load_policy(folder / "rules"))


def test_a_register_decided_with_output_refuses_a_date_it_would_not_read(folder: Path) -> None:
    run = run_cli("evaluate", "rules", "dated.yaml", "--output", "out.csv", "--as-of", "2025-02-01", cwd=folder)
    assert run.returncode == 2
    assert "dated.yaml: error: this file gives `as_of`, which a register decided with --output does not read" in run.stderr
    assert not (folder / "out.csv").exists()
    assert run_cli("evaluate", "rules", "undated.yaml", "--output", "out.csv", cwd=folder).returncode == 0
