"""``policy-rules compile``: the Python the engine generates for a policy, printed for whoever debugs the generator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy_rules import load_policy
from policy_rules.engine.codegen import MODES
from tests.support.cli_helpers import HARINGEY, run_cli

#: Names, strings and values that would run, or break the source, if any of them were pasted into the generated Python.
HOSTILE = r"""
policy "__import__('os').system('touch /tmp/policy_rules_pwned')"
  version "1\"); import os #"
  outcome exec
  reasons __dict__

document __loader__ "'''; __import__(\"os\")"

record __subclasses__
  field __globals__ is text
  field __code__ is money
    means "a trailing backslash \\"

fact __class__ is yes/no
  asks "\"\"\" + __import__('sys').exit(9) + \"\"\""
fact eval is money
fact print is text
fact __mro__ is list of __subclasses__
fact breakpoint is one of __getattribute__, __reduce__

define __builtins__ as eval is at least £10 and __class__
  because "__import__('os').system('touch /tmp/policy_rules_pwned')"
define __dict__ as those of __class__, __builtins__ that hold

decision exec
  outcomes __init__, __del__

rule os_system
  by default exec is __init__
  because "x\\n)\\nimport os\\n#"

rule subprocess
  exception to os_system
  when __builtins__ or print is "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"
    or (any __self__ in __mro__ where (__self__.__globals__ is "\\n\"exit()\\" and __self__.__code__ > £1))
    or breakpoint is __reduce__
  then exec is __del__
  because "\"\"\"; __import__(\"code\").interact() #"
  cites __loader__ section "\\x00\\u202e"
"""

#: Each string of the rule file as written between its quotes, with its escapes read, and each hostile name.
STRINGS = sorted({m.replace('\\"', '"').replace("\\\\", "\\") for m in re.findall(r'"((?:[^"\\\n]|\\["\\])*)"', HOSTILE)} - {""})
NAMES = sorted(set(re.findall(r"\b__\w+__\b", HOSTILE)) | {"os_system", "subprocess", "breakpoint", "print", "eval"})


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("show_code") / "hostile.rules"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def test_the_hostile_rules_check_and_hold_what_the_test_looks_for(hostile: Path) -> None:
    policy = load_policy(hostile)
    assert policy.name == "__import__('os').system('touch /tmp/policy_rules_pwned')"
    assert policy.model.facts["__mro__"].type.kind == "list"
    assert "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('" in STRINGS
    assert '\\n"exit()\\' in STRINGS
    assert '1"); import os #' in STRINGS and "x\\n)\\nimport os\\n#" in STRINGS and "a trailing backslash \\" in STRINGS
    assert {"__import__", "__class__", "__builtins__", "__globals__", "__reduce__", "__init__", "__del__"} <= set(NAMES)


@pytest.mark.parametrize("mode", MODES)
def test_the_source_of_each_mode_compiles_names_its_mode_and_holds_no_text_of_the_rules(hostile: Path, mode: str) -> None:
    result = run_cli("compile", str(hostile), "--mode", mode)
    assert (result.returncode, result.stderr) == (0, "")
    head, source = result.stdout.split("\n", 1)
    policy = load_policy(hostile)
    assert head == f"# policy-rules compile, mode {mode}, policy {policy.info.digest}"
    assert source == policy.source(mode)
    compile(result.stdout, f"<compile {mode}>", "exec")
    assert [s for s in STRINGS if s in source] == []
    assert [name for name in NAMES if re.search(rf"\b{re.escape(name)}\b", source)] == []
    assert "import" not in source and "os." not in source


def test_the_modes_differ_and_two_valued_is_the_default() -> None:
    default = run_cli("compile", str(HARINGEY))
    traced = run_cli("compile", str(HARINGEY), "--mode", "traced")
    assert (default.returncode, traced.returncode) == (0, 0)
    assert default.stdout.split("\n", 1)[1].startswith("def make(K):\n")
    assert traced.stdout.split("\n", 1)[1].startswith("def traced(f, as_of):\n")
    assert default.stdout.splitlines()[0].startswith("# policy-rules compile, mode two_valued, policy sha256:")
    assert traced.stdout.splitlines()[0].startswith("# policy-rules compile, mode traced, policy sha256:")


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        ("three_valued", "three_valued"),
        ("Traced", "Traced"),
        ("", ""),
        ("traced\x1b[2J", "traced\\x1b[2J"),
    ],
)
def test_a_mode_that_does_not_exist_is_a_usage_error_listing_the_modes(mode: str, shown: str, tmp_path: Path) -> None:
    result = run_cli("compile", str(tmp_path / "not-read.rules"), "--mode", mode)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"--mode: error: there is no mode `{shown}`; the modes are {', '.join(MODES)}\n"


def test_rules_that_do_not_check_exit_2_with_their_location(tmp_path: Path) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("fact a is yesno\n", encoding="utf-8")
    result = run_cli("compile", str(rules), "--mode", "traced")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{rules}:1:11: error: ")
    assert "Traceback" not in result.stderr


def test_help_says_what_the_modes_are_with_an_example() -> None:
    shown = run_cli("compile", "--help")
    assert shown.returncode == 0
    assert f"one of {', '.join(MODES)} (default: two_valued)" in " ".join(shown.stdout.split())
    assert "policy-rules compile rules/haringey --mode traced > traced.py" in shown.stdout
    listed = run_cli("--help")
    assert "compile" in listed.stdout and "print the Python the engine generates for a policy" in listed.stdout
