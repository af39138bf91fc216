"""A folder holding several policy folders is checked policy by policy, and each policy is listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_rules.language.loader import policies
from tests.support.case_policies import GRANT, UNDATED
from tests.support.cli_helpers import run_cli


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """Two policies that share every name, each in its own folder, one split into two files in a subfolder."""
    (tmp_path / "rules" / "grant").mkdir(parents=True)
    (tmp_path / "rules" / "other" / "parts").mkdir(parents=True)
    (tmp_path / "rules" / "grant" / "policy.rules").write_text(GRANT, encoding="utf-8")
    header, rest = UNDATED.replace("Small grant", "Other grant").split("fact applicant", 1)
    (tmp_path / "rules" / "other" / "00-policy.rules").write_text(header, encoding="utf-8")
    (tmp_path / "rules" / "other" / "parts" / "rest.rules").write_text("fact applicant" + rest, encoding="utf-8")
    return tmp_path


def test_each_folder_with_a_header_is_a_policy_with_the_files_below_it() -> None:
    sources = {
        "rules/a/policy.rules": 'policy "A"\n',
        "rules/a/more/x.rules": "fact x is text\n",
        "rules/b/00.rules": '# policy "not a header"\npolicy "B"\n',
        "rules/b/10.rules": "fact y is text\n",
    }
    assert policies(sources) == [
        ("rules/a", {"rules/a/policy.rules": 'policy "A"\n', "rules/a/more/x.rules": "fact x is text\n"}),
        ("rules/b", {"rules/b/00.rules": '# policy "not a header"\npolicy "B"\n', "rules/b/10.rules": "fact y is text\n"}),
    ]


def test_one_header_or_none_is_one_policy_as_before() -> None:
    one = {"a/policy.rules": 'policy "A"\n', "a/sub/x.rules": "fact x is text\n"}
    assert policies(one) == [("", one)]
    two_in_one_folder = {"a/1.rules": 'policy "A"\n', "a/2.rules": 'policy "B"\n'}
    assert policies(two_in_one_folder) == [("", two_in_one_folder)]


def test_a_folder_of_policies_checks_clean_and_lists_each(rules: Path) -> None:
    run = run_cli("check", "rules", cwd=rules, env={"POLICY_RULES_CACHE": "off"})
    assert run.returncode == 0, run.stdout
    lines = run.stderr.splitlines()
    assert f'{Path("rules/grant")}: policy "Small grant", 1 file checked: 0 errors, 6 warnings' in lines
    assert f'{Path("rules/other")}: policy "Other grant", 2 files checked: 0 errors, 6 warnings' in lines
    assert lines[-1] == "3 files checked in 2 policies: 0 errors, 12 warnings"


def test_an_error_in_one_policy_is_its_own(rules: Path) -> None:
    path = rules / "rules" / "other" / "parts" / "rest.rules"
    path.write_text(path.read_text(encoding="utf-8") + "\nrule broken\n  when nothing_declared\n  then award is grant\n", encoding="utf-8")
    run = run_cli("check", "rules", cwd=rules, env={"POLICY_RULES_CACHE": "off"})
    assert run.returncode == 1
    assert all(line.startswith(str(Path("rules/other/parts/rest.rules"))) for line in run.stdout.splitlines() if ": error: " in line)
    assert f'{Path("rules/grant")}: policy "Small grant", 1 file checked: 0 errors, 6 warnings' in run.stderr


def test_a_single_policy_is_reported_as_before(rules: Path) -> None:
    run = run_cli("check", "rules/grant", cwd=rules, env={"POLICY_RULES_CACHE": "off"})
    assert (run.returncode, run.stderr.splitlines()[-1]) == (0, "1 file checked: 0 errors, 6 warnings")
