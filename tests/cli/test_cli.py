"""The command line: evaluate and explain, their formats, and every argument error."""

from __future__ import annotations

import json

import pytest

from tests.engine.test_evaluator import HARINGEY
from tests.support.cli_helpers import EXAMPLES, ROOT, run_cli

FROZEN = HARINGEY.relative_to(ROOT).as_posix()
"""The frozen Haringey rules (tests/policies/haringey-2019-07), as written from the top folder: the output is the policy's, not the bundled one's."""

FACILITIES = str(EXAMPLES / "facilities-management.yaml")
AS_OF = "2024-04-01"


def test_evaluate_prints_the_decision_in_plain_text() -> None:
    result = run_cli("evaluate", FROZEN, "examples/facilities-management.yaml", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Service: Facilities management"
    assert lines[1] == f"  Outcome: hybrid (rule hybrid_for_specialist_elements, {FROZEN}/50-delivery.rules:15)"
    assert lines[2] == "  Priority: high"
    assert "  Elements:" in lines
    assert "    Lift maintenance and repair: external" in lines
    assert lines[-1].startswith("  Policy: Haringey insourcing policy, version 2019-07, sha256:")
    assert lines[-1].endswith(f"as at {AS_OF}")
    assert "\033[" not in result.stdout


def test_evaluate_json_is_the_contract_and_repeatable(tmp_path) -> None:
    first = run_cli("evaluate", str(HARINGEY), FACILITIES, "--format", "json", "--as-of", AS_OF, cwd=tmp_path)
    second = run_cli("evaluate", str(HARINGEY), FACILITIES, "--format", "json", "--as-of", AS_OF, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert isinstance(data, dict)
    for key in ("service", "outcome", "priority", "reasons", "elements", "needed_facts", "trace", "policy"):
        assert key in data
    assert data["outcome"] == "hybrid"
    assert data["elements"][-1] == {"name": "Lift maintenance and repair", "outcome": "external"}
    assert data["policy"]["digest"].startswith("sha256:")
    assert data["trace"]


def test_several_services_give_a_json_array_in_input_order(tmp_path) -> None:
    facts = tmp_path / "two.yaml"
    facts.write_text("- service: A\n  nhs_expertise: yes\n- service: B\n  vcs_reach: yes\n  nhs_expertise: no\n", encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), str(facts), "--format", "json", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(d["service"], d["outcome"]) for d in data] == [("A", "partnership_nhs"), ("B", "partnership_vcs")]


def test_explain_prints_a_trace_an_officer_can_follow() -> None:
    result = run_cli("explain", FROZEN, "examples/facilities-management.yaml", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Decision delivery: hybrid, decided by rule hybrid_for_specialist_elements" in out
    assert f"[DECIDES] exception rule hybrid_for_specialist_elements gives hybrid   ({FROZEN}/50-delivery.rules:15)" in out
    assert "[overridden; hybrid_for_specialist_elements decides] default rule insource_by_default" in out
    assert 'cites Haringey Council insourcing policy (Appendix 1), section "Relationship to existing council policy"' in out
    assert "why not: nhs_expertise is not so" in out
    assert "read: in_house_annual_cost = £4,650,000, budget_available = £5,000,000" in out


def test_markdown_and_html_formats() -> None:
    md = run_cli("evaluate", FROZEN, "examples/facilities-management.yaml", "--format", "markdown", "--as-of", AS_OF)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Decision: Facilities management\n")
    page = run_cli("evaluate", FROZEN, "examples/facilities-management.yaml", "--format", "html", "--as-of", AS_OF)
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("<!DOCTYPE html>")
    assert "<h1>Decision: Facilities management</h1>" in page.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("evaluate", "rules/haringey", "no-such-file.yaml"), "no-such-file.yaml: error: there is no such file; check the path"),
        (("evaluate", "rules/nowhere", "examples/facilities-management.yaml"), "rules/nowhere: error: there is no such file or folder; check the path"),
        (
            ("evaluate", "rules/haringey", "examples/facilities-management.yaml", "--as-of", "2020-13-01"),
            "--as-of: error: `2020-13-01` is not a date; write it as YYYY-MM-DD",
        ),
        (
            ("evaluate", "rules/haringey", "examples/facilities-management.yaml", "--report", "x.md"),
            "arguments: error: --report, --with-trace, --jobs and --cluster go with --output FILE",
        ),
        (
            ("evaluate", "rules/haringey", "examples/facilities-management.yaml", "--output", "out.txt"),
            "--output: error: cannot write decisions to a `.txt` file; use .csv, .jsonl or .json",
        ),
        (
            ("evaluate", "rules/haringey", "examples/facilities-management.yaml", "--format", "pdf"),
            "policy-rules: error: argument --format: invalid choice: 'pdf'",
        ),
        (("frobnicate",), "policy-rules: error: argument COMMAND: invalid choice: 'frobnicate'"),
        (
            ("evaluate", "examples/facilities-management.yaml", "rules/haringey"),
            "arguments: error: the rules come first, then the facts: examples/facilities-management.yaml is a facts file and rules/haringey a folder of rules;"
            " write `policy-rules evaluate rules/haringey examples/facilities-management.yaml`",
        ),
        (
            ("explain", "examples/facilities-management.yaml", "rules/haringey/50-delivery.rules"),
            "arguments: error: the rules come first, then the facts: examples/facilities-management.yaml is a facts file"
            " and rules/haringey/50-delivery.rules a rule file;"
            " write `policy-rules explain rules/haringey/50-delivery.rules examples/facilities-management.yaml`",
        ),
        (
            ("evaluate", "rules/haringey/10-facts.rules", "examples/facilities-management.yaml"),
            "rules/haringey/10-facts.rules: error: this is one file of the policy in the folder rules/haringey;"
            " give the folder, which holds all its rule files",
        ),
    ],
)
def test_unusable_arguments_exit_2_with_a_message(args, message, tmp_path) -> None:
    result = run_cli(*[str(ROOT / a) if a.startswith(("rules/", "examples/")) else a for a in args], cwd=tmp_path)
    assert result.returncode == 2
    shown = result.stderr.replace(str(ROOT) + "/", "")
    assert message in shown
    assert "Traceback" not in result.stderr + result.stdout


def test_undeclared_fact_suggests_the_nearest_name(tmp_path) -> None:
    facts = tmp_path / "typo.yaml"
    facts.write_text("service: Parks\nquality_concern: yes\n", encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), str(facts))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{facts}: service 'Parks': fact 'quality_concern': error: there is no fact called `quality_concern` in this policy; did you mean `quality_concerns`?"
    )


def test_broken_rules_exit_2_for_evaluate(tmp_path) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("fact a is yesno\n", encoding="utf-8")
    result = run_cli("evaluate", str(rules), FACILITIES)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{rules}:1:11: error: ")
    assert "Traceback" not in result.stderr


def test_version_and_help_with_examples() -> None:
    version = run_cli("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == "policy-rules 0.1.0"
    for command in ("check", "evaluate", "explain", "compile"):
        shown = run_cli(command, "--help")
        assert shown.returncode == 0
        assert "examples:" in shown.stdout
        assert f"policy-rules {command} rules/haringey" in shown.stdout


def test_no_color_when_asked_even_if_a_terminal_is_pretended(monkeypatch, capsys) -> None:
    from policy_rules import cli

    class Terminal:
        def __init__(self, stream):
            self.stream = stream

        def isatty(self) -> bool:
            return True

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("sys.stdout", Terminal(__import__("sys").stdout))
    assert cli.main(["evaluate", str(HARINGEY), FACILITIES, "--as-of", AS_OF]) == 0
    assert "\033[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["evaluate", str(HARINGEY), FACILITIES, "--as-of", AS_OF]) == 0
    assert "\033[" not in capsys.readouterr().out
    monkeypatch.delenv("NO_COLOR")
    assert cli.main(["evaluate", str(HARINGEY), FACILITIES, "--as-of", AS_OF, "--no-color"]) == 0
    assert "\033[" not in capsys.readouterr().out


NESTED = """
policy "nested"
  service name service
  outcome plan

record job
  field big is yes/no

fact service is text
fact jobs is list of job

decision plan
  outcomes keep, grow

rule keep_default
  by default plan is keep

rule grow_when_one_is_big
  exception to keep_default
  when any j in jobs where (every k in jobs where j.big)
  then plan is grow
"""


def test_a_quantifier_reading_a_field_of_the_item_around_it_decides_alike_with_and_without_the_trace(tmp_path) -> None:
    """``every k in jobs where j.big`` reads the outer item ``j``: it holds for each big ``j``, not only when every job is big.

    The generator reads a quantifier over a bare field of its own item by a
    shortcut over the whole list; applied to the outer item's field it would
    decide "one of two big" as keep (a mutant that did so survived the corpus).
    """
    services = [
        {"service": "one of two big", "jobs": [{"big": True}, {"big": False}]},
        {"service": "none big", "jobs": [{"big": False}, {"big": False}]},
        {"service": "no jobs", "jobs": []},
    ]
    traced, untraced = _decided_with_and_without_the_trace(tmp_path, NESTED, services)
    expected = [("one of two big", "grow", "grow_when_one_is_big"), ("none big", "keep", "keep_default"), ("no jobs", "keep", "keep_default")]
    assert [(d["service"], d["outcome"], d["decided_by"]) for d in traced] == expected
    assert [(d["service"], d["outcome"], d["decided_by"]) for d in untraced] == expected


def _decided_with_and_without_the_trace(folder, rules_text: str, services: list[dict]) -> tuple[list[dict], list[dict]]:
    """The JSON decisions of ``evaluate --format json`` (trace on) and of a register written with ``--output`` (trace off)."""
    rules = folder / "policy.rules"
    rules.write_text(rules_text, encoding="utf-8")
    facts = folder / "services.json"
    facts.write_text(json.dumps(services), encoding="utf-8")
    traced = run_cli("evaluate", str(rules), str(facts), "--as-of", AS_OF, "--format", "json")
    assert traced.returncode == 0, traced.stderr
    register = run_cli("evaluate", str(rules), str(facts), "--as-of", AS_OF, "--output", str(folder / "out.jsonl"))
    assert register.returncode == 0, register.stderr
    written = [json.loads(line) for line in (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    return json.loads(traced.stdout), written


ARITHMETIC = """
policy "arithmetic"
  service name service
  outcome plan
  reasons held

record job
  field big is yes/no

fact service is text
fact a is money
fact b is money
fact n is number
fact jobs is list of job

define s_add as a + b = £500
define s_sub as a - b = £102
define s_mul as a * n = £602
define s_div as a / n = £150.50
define s_neg as -a < £0 - £299
define s_empty as jobs is empty
define s_filled as jobs is not empty
define held as those of s_add, s_sub, s_mul, s_div, s_neg, s_empty, s_filled that hold

decision plan
  outcomes keep

rule keep_default
  by default plan is keep
"""


def test_arithmetic_and_emptiness_are_worked_out_as_written_with_and_without_the_trace(tmp_path) -> None:
    """Each operator worked out by hand: 301 + 199 = 500, 301 - 199 = 102, 301 x 2 = 602, 301 / 2 = 150.50 (not 150), -301 < -299;
    a list of no jobs is empty, one of one job is not.

    Every mode of the engine writes an operator from one template, so the
    modes cannot disagree about it; this pins each to its arithmetic.
    """
    services = [{"service": "all hold", "a": 301, "b": 199, "n": 2, "jobs": []}, {"service": "none hold", "a": 0, "b": 0, "n": 1, "jobs": [{"big": True}]}]
    traced, untraced = _decided_with_and_without_the_trace(tmp_path, ARITHMETIC, services)
    expected = [("all hold", ["s_add", "s_sub", "s_mul", "s_div", "s_neg", "s_empty"]), ("none hold", ["s_filled"])]
    assert [(d["service"], d["reasons"]) for d in traced] == expected
    assert [(d["service"], d["reasons"]) for d in untraced] == expected


@pytest.mark.parametrize("command", ["evaluate", "explain"])
def test_a_folder_of_several_policies_is_refused_naming_them(command, tmp_path) -> None:
    from tests.support.workbench_support import RULES, write_policy

    write_policy(tmp_path / "all" / "first")
    write_policy(tmp_path / "all" / "second", RULES.replace('policy "Workbench test policy"', 'policy "Another"'))
    facts = tmp_path / "facts.yaml"
    facts.write_text("service: Parks\ncost: 1\nbudget: 2\n", encoding="utf-8")
    result = run_cli(command, "all", str(facts), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "all: error: this holds 2 policies (all/first, all/second); give the folder of one of them, such as all/first (only `check` takes several at once)"
    )
    assert run_cli(command, "all/first", str(facts), cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("command", ["evaluate", "check"])
def test_one_file_of_a_policy_gives_one_error_naming_its_folder(command: str, tmp_path) -> None:
    args = ("check", str(HARINGEY / "50-delivery.rules")) if command == "check" else ("evaluate", str(HARINGEY / "50-delivery.rules"), FACILITIES)
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"{HARINGEY / '50-delivery.rules'}: error: this is one file of the policy in the folder {HARINGEY}; give the folder, which holds all its rule files"
    ]


def test_a_file_of_its_own_policy_is_still_a_policy(tmp_path) -> None:
    (tmp_path / "other.rules").write_text("fact x is yes/no\n", encoding="utf-8")
    (tmp_path / "one.rules").write_text('policy "One"\n  outcome d\ndecision d\n  outcomes a\nrule r\n  by default d is a\n', encoding="utf-8")
    (tmp_path / "f.yaml").write_text("{}\n", encoding="utf-8")
    result = run_cli("evaluate", str(tmp_path / "one.rules"), str(tmp_path / "f.yaml"), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "Outcome: a" in result.stdout


def test_the_readme_lists_every_command() -> None:
    from policy_rules.cli import _parser

    commands = next(a for a in _parser()._actions if a.dest == "command").choices
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    assert sorted(c for c in commands if f"| `policy-rules {c}" not in table) == []
