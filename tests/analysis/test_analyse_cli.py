"""The ``analyse`` and ``whatif`` commands: output, exit status, witnesses written as case files that ``policy-rules test`` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from policy_rules.cli import main
from tests.analysis.test_analyse import DECISION, HEADER, line_of, rule, write

ROOT = Path(__file__).resolve().parents[2]


def test_analyse_command_prints_findings_writes_runnable_scenarios_and_exits_1_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a", "grow") + rule("cut_when_b", "keep_default", "b", "cut"))
    out = tmp_path / "witnesses"
    assert main(["analyse", str(folder), "--scenarios", str(out)]) == 1
    printed = capsys.readouterr()
    assert printed.out.startswith(f"{folder / 'policy.rules'}:{line_of(folder, 'rule cut_when_b')}:1: error: rules grow_when_a")
    assert printed.err.strip() == "1 error, 0 warnings"
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"01-conflict-policy-{line_of(folder, 'rule cut_when_b')}.yaml"]
    case = yaml.safe_load(files[0].read_text())
    assert set(case) == {"name", "as_of", "facts", "expect"}
    assert main(["test", str(folder), str(out)]) == 1
    assert "a conflict" in capsys.readouterr().out
    assert main(["analyse", str(folder), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(d["severity"], d["kind"]) for d in data] == [("error", "conflict")]
    assert data[0]["witness"]["facts"]["a"] is True and data[0]["witness"]["facts"]["b"] is True


def test_analyse_command_refuses_to_write_over_a_rule_file_and_exits_0_without_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("keep_when_b", "keep_default", "b", "keep"))
    assert main(["analyse", str(folder)]) == 0
    assert "never changes the outcome" in capsys.readouterr().out
    (folder / f"01-never_changes-policy-{line_of(folder, 'rule keep_when_b')}.yaml").symlink_to(folder / "policy.rules")
    assert main(["analyse", str(folder), "--scenarios", str(folder)]) == 2
    assert "would destroy it" in capsys.readouterr().err
    assert (folder / "policy.rules").read_text().startswith('policy "analysed"')


def test_whatif_command_prints_the_changes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "examples" / "facilities-management.yaml")
    rules = str(ROOT / "rules" / "haringey")
    assert main(["whatif", rules, example, "--target", "in_house", "--as-of", "2025-01-15"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Facilities management: 1 change gives in_house:", "  elements[2].specialist: yes -> no"]
    assert main(["whatif", rules, example, "--target", "in_house", "--as-of", "2025-01-15", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["found"], data["outcome_after"], data["changes"]) == (True, "in_house", [{"fact": "elements[2].specialist", "from": "yes", "to": "no"}])


def test_whatif_command_refuses_an_outcome_the_policy_does_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "examples" / "facilities-management.yaml")
    assert main(["whatif", str(ROOT / "rules" / "haringey"), example, "--target", "inhouse"]) == 2
    err = capsys.readouterr().err
    assert "`inhouse` is not an outcome of decision delivery" in err and "Traceback" not in err


def test_analyse_command_reports_rules_that_do_not_check_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a and c", "grow"))
    assert main(["analyse", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'policy.rules'}:{line_of(folder, '  when a and c')}:" in err and "Traceback" not in err
    assert main(["analyse", str(tmp_path / "missing")]) == 2
