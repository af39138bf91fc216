"""`policy-rules check` as a whole process, on broken rule files an officer could write.

Every file in ``tests/broken/`` starts with the lines it must produce::

    # expect: FILE:LINE:COL: error: MESSAGE     (one or more)
    # exit: 1

The check runs in a subprocess from inside ``tests/broken/`` (never the
repository's root), so ``FILE`` is the file's own name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli_helpers import HARINGEY, run_cli

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parents[1] / "broken"
BROKEN_FILES = sorted(BROKEN.glob("*.rules"))
ERROR_LINE = re.compile(r"^\S+:\d+:\d+: error: ")


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policy_rules.cli", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def expectations(path: Path) -> tuple[list[str], int]:
    expected: list[str] = []
    exit_status = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            expected.append(line.removeprefix("# expect: "))
        elif line.startswith("# exit: "):
            exit_status = int(line.removeprefix("# exit: "))
        else:
            break
    assert expected and exit_status is not None, f"{path.name} must start with `# expect:` lines and `# exit:`"
    return expected, exit_status


def test_there_are_enough_broken_files() -> None:
    assert len(BROKEN_FILES) >= 25


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_a_broken_rule_file_is_reported_exactly(path: Path) -> None:
    expected, exit_status = expectations(path)
    done = check(path.name, cwd=BROKEN)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == exit_status, done.stdout + done.stderr
    printed = done.stdout.splitlines()
    for line in expected:
        assert line in printed, f"missing: {line}\n--- stdout:\n{done.stdout}"
    errors = [line for line in printed if ERROR_LINE.match(line)]
    assert sorted(errors) == sorted(expected), "errors printed that the file does not expect"
    assert re.fullmatch(rf"1 file checked: {len(expected)} errors?, \d+ warnings?\n", done.stderr)


def test_each_error_is_followed_by_its_line_and_a_caret_under_the_column() -> None:
    done = check("01-misspelt-default.rules", cwd=BROKEN)
    lines = done.stdout.splitlines()
    head = lines.index(expectations(BROKEN / "01-misspelt-default.rules")[0][0])
    column = int(lines[head].split(":")[2])
    assert lines[head + 1] == "      by defualt delivery is in_house"
    assert lines[head + 2] == "    " + " " * (column - 1) + "^"


def test_the_haringey_rules_check_clean_from_another_folder(tmp_path: Path) -> None:
    done = check(str(ROOT / "rules" / "haringey"), cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == ""
    assert re.fullmatch(r"\d+ files checked: 0 errors, 0 warnings\n", done.stderr)
    assert "Traceback" not in done.stderr


def test_the_installed_console_script_checks_too(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("policy-rules")
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    done = subprocess.run([str(script), "check", str(ROOT / "rules" / "haringey")], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0
    assert done.stderr.endswith(" files checked: 0 errors, 0 warnings\n")


def test_a_missing_path_is_an_unusable_argument(tmp_path: Path) -> None:
    done = check("no-such-rules", cwd=tmp_path)
    assert done.returncode == 2
    assert "no-such-rules" in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    (tmp_path / "warn.rules").write_text(
        'decision delivery outcomes in_house\nrule in_house_by_default\n  by default delivery is in_house\n  because "the council delivers services itself"\n',
        encoding="utf-8",
    )
    done = check("warn.rules", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == (
        'warn.rules:2:1: warning: rule `in_house_by_default` cites no section of the policy; add `cites DOCUMENT section "..."`'
    )
    assert done.stderr == "1 file checked: 0 errors, 1 warning\n"


def test_a_folder_is_read_recursively_and_findings_come_file_by_file(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    (folder / "sub").mkdir(parents=True)
    for name in ("01-misspelt-default.rules", "02-text-not-closed.rules"):  # syntax errors: each file reports its own
        (folder / "sub" / name).write_text((BROKEN / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a rule file", encoding="utf-8")
    done = check("policy", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if ERROR_LINE.match(line)]
    assert [line.split(":")[0] for line in errors] == ["policy/sub/01-misspelt-default.rules", "policy/sub/02-text-not-closed.rules"]
    assert done.stderr == "2 files checked: 2 errors, 0 warnings\n"


def test_errors_in_several_files_given_one_by_one(tmp_path: Path) -> None:
    done = check("09-cycle.rules", "10-undeclared-document.rules", cwd=BROKEN)
    assert done.returncode == 1
    for name in ("09-cycle.rules", "10-undeclared-document.rules"):
        for line in expectations(BROKEN / name)[0]:
            assert line in done.stdout.splitlines()
    assert done.stderr.startswith("2 files checked: ")


def test_a_second_check_reads_the_files_from_the_parse_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    rules = tmp_path / "rules"
    shutil.copytree(HARINGEY, rules)
    env = {"POLICY_RULES_CACHE": str(cache)}
    probe = (
        "import sys, runpy; sys.argv = ['policy-rules', 'check', sys.argv[1]]\n"
        "try:\n    runpy.run_module('policy_rules.cli', run_name='__main__')\n"
        "except SystemExit as e:\n    print('lark' in sys.modules, e.code)"
    )
    first = subprocess.run([sys.executable, "-c", probe, str(rules)], capture_output=True, text=True, env={**os.environ, **env}, check=False)
    assert first.stdout.splitlines()[-1] == "True 0"
    entries = sorted(cache.glob("??/*.json"))
    assert len(entries) == len(list(rules.glob("*.rules"))) == len(list(HARINGEY.glob("*.rules")))
    assert all(json.loads(e.read_text(encoding="utf-8"))["key"] + ".json" == e.name for e in entries)
    second = subprocess.run([sys.executable, "-c", probe, str(rules)], capture_output=True, text=True, env={**os.environ, **env}, check=False)
    assert second.stdout.splitlines() == [*first.stdout.splitlines()[:-1], "False 0"]  # the parser was not even loaded
    broken = rules / "30-exceptions.rules"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nrule broken\n  exception too nothing\n", encoding="utf-8")
    third = run_cli("check", str(rules), env=env)
    again = run_cli("check", str(rules), env=env)
    assert third.returncode == again.returncode == 1
    assert third.stdout == again.stdout
    assert "30-exceptions.rules" in third.stdout


def test_a_damaged_cache_entry_is_parsed_again_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_rules.language.loader import analyse

    cache = tmp_path / "cache"
    sources = {"p.rules": 'policy "p"\n  outcome d\n\nfact a is yes/no\n\ndecision d\n  outcomes x\n\nrule r\n  by default d is x\n'}
    monkeypatch.setenv("POLICY_RULES_CACHE", str(cache))
    model, diagnostics = analyse(sources, "p")
    [entry] = cache.glob("??/*.json")
    good = entry.read_text(encoding="utf-8")
    entry.write_text(good[: len(good) // 2], encoding="utf-8")
    again, again_diagnostics = analyse(sources, "p")
    assert model is not None and again is not None
    assert list(again.rules) == list(model.rules) == ["r"]
    assert again_diagnostics == diagnostics
    assert entry.read_text(encoding="utf-8") == good
