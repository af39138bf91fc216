"""Nothing injected, rule files read safely: attacks through text shown to people and through the files named.

Each test runs the real command line (``tests.cli_helpers.run_cli``) with a
hostile input and asserts the exit status, the message, and that the attack
did not get through: no ESC byte reaches the terminal, no markup reaches a
report raw, no line of a file outside the policy folder is ever shown. The
few tests that need a failure the test machine cannot produce (a file the
user may not read, since tests run as root) call ``policy_rules.cli.main`` in
this process with the denial simulated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from policy_rules import cli
from policy_rules.language import loader
from tests.support.cli_helpers import run_cli

ESC = "\x1b"
CLEAR = "\x1b[2J"
SHOWN_CLEAR = "\\x1b[2J"
SCRIPT = "<script>alert(1)</script>"

POLICY = """\
policy "Test policy"
  version "1"
  service name service
  outcome delivery

document handbook "Handbook"
  sections "Money"

fact service is text
  means "the service"

fact cost is money
  means "the cost"
  asks "ASKS"

decision delivery
  means "how the service is delivered"
  outcomes in_house, bought

rule in_house_by_default
  by default delivery is in_house
  because "BECAUSE"
  cites handbook section "Money"

rule buy
  exception to in_house_by_default
  when cost > £100
  then delivery is bought
  because "it costs too much"
  cites handbook section "Money"
"""

LINE_FIVE = "rule r by default d is"
# A policy with an error on line 5: `c` is not an outcome of `d`.
LINE_FIVE_ERROR = 'policy "p"\n# a comment{char}with a break\ndecision d\n  outcomes a, b\nrule r by default d is c\n'
# The same with a syntax error on line 5 (a declaration that stops early).
LINE_FIVE_SYNTAX = 'policy "p"\n# a comment{char}with a break\ndecision d\n  outcomes a, b\nrule r by default d is\n'


def write_policy(folder: Path, *, because: str = "BECAUSE", asks: str = "ASKS") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.rules"
    text = POLICY.replace('"BECAUSE"', f'"{because}"').replace('"ASKS"', f'"{asks}"')
    path.write_bytes(text.encode())
    return path


def write_facts(path: Path, **facts: str) -> Path:
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


def located(output: str, prefix: str) -> list[str]:
    """The finding that starts with ``prefix`` and the two lines under it (the excerpt and the caret)."""
    lines = output.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    return lines[at : at + 3]


def assert_no_raw_markup(report: str) -> None:
    """No ``<`` that a Markdown renderer would take as the start of a tag (an escaped ``\\<`` is text)."""
    assert re.search(r"(?<!\\)<", report) is None


def assert_nothing_sent(result: subprocess.CompletedProcess[str]) -> None:
    assert ESC not in result.stdout
    assert ESC not in result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


# --- 1. terminal: control characters from facts and rule files are shown, not sent ------------------


def test_ansi_in_a_service_name_is_shown_not_sent_by_evaluate_and_explain(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    facts = write_facts(tmp_path / "facts.json", service=f"Evil{CLEAR}\x1b[31mname", cost="£5")
    evaluate = run_cli("evaluate", str(rules), str(facts), "--as-of", "2024-01-01", cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr
    assert_nothing_sent(evaluate)
    assert evaluate.stdout.splitlines()[0] == "Service: Evil\\x1b[2J\\x1b[31mname"
    explain = run_cli("explain", str(rules), str(facts), "--as-of", "2024-01-01", cwd=tmp_path)
    assert explain.returncode == 0, explain.stderr
    assert_nothing_sent(explain)
    assert "  service = Evil\\x1b[2J\\x1b[31mname" in explain.stdout.splitlines()


def test_ansi_in_a_fact_value_is_shown_not_sent_in_the_error_message(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    facts = write_facts(tmp_path / "facts.json", service=f"S{CLEAR}", cost=f"{CLEAR}£5")
    result = run_cli("evaluate", str(rules), str(facts), cwd=tmp_path)
    assert result.returncode == 2
    assert_nothing_sent(result)
    assert result.stdout == ""
    assert "facts.json: service 'S\\x1b[2J': fact 'cost': error: " in result.stderr
    assert SHOWN_CLEAR + "£5" in result.stderr


def test_ansi_in_because_and_asks_texts_is_shown_not_sent(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules", because=f"cheaper{CLEAR}", asks=f"What does it cost?{ESC}]0;owned{chr(7)}")
    unknown = write_facts(tmp_path / "unknown.json", service="S")
    evaluate = run_cli("evaluate", str(rules), str(unknown), "--as-of", "2024-01-01", cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr
    assert_nothing_sent(evaluate)
    assert "    cost: What does it cost?\\x1b]0;owned\\x07" in evaluate.stdout.splitlines()
    known = write_facts(tmp_path / "known.json", service="S", cost="£5")
    explain = run_cli("explain", str(rules), str(known), "--as-of", "2024-01-01", cwd=tmp_path)
    assert explain.returncode == 0, explain.stderr
    assert_nothing_sent(explain)
    assert "      because cheaper\\x1b[2J" in explain.stdout.splitlines()


def test_an_escape_character_in_a_rule_file_is_quoted_visibly_in_the_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.rules"
    path.write_text(f'policy "p"\ndecision d{ESC}[2J\n', encoding="utf-8")
    result = run_cli("check", "bad.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert_nothing_sent(result)
    assert result.stdout.splitlines()[:3] == [
        "bad.rules:2:11: error: the character `\\x1b` is not part of the rule language in this decision declaration; expected "
        + result.stdout.splitlines()[0].split("; expected ", 1)[1],
        "    decision d\\x1b[2J",
        "              ^",
    ]


def test_a_rule_file_name_with_escapes_and_a_newline_cannot_forge_a_line(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / f"evil{CLEAR}\nok: no errors\u202e.rules").write_text('policy "p"\ndecision d\n  outcomes a\nrule r by default d is b\n', encoding="utf-8")
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert_nothing_sent(result)
    shown = "rules/evil\\x1b[2J\\nok: no errors\\u202e.rules"
    assert located(result.stdout, f"{shown}:4:24: error: ") == [
        f"{shown}:4:24: error: `b` is not an outcome of decision `d`; its outcomes are a",
        "    rule r by default d is b",
        " " * 27 + "^",
    ]
    assert not any(line.startswith("ok: no errors") for line in result.stdout.splitlines())


def test_json_output_writes_terminal_controls_as_escapes_and_keeps_the_data(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    name = f"A{CLEAR}\x9b2J\u2028B\u202eC"
    facts = write_facts(tmp_path / "facts.json", service=name, cost="£5")
    result = run_cli("evaluate", str(rules), str(facts), "--format", "json", "--as-of", "2024-01-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for raw in (ESC, "\x9b", "\u2028", "\u202e"):
        assert raw not in result.stdout
    assert '"service": "A\\u001b[2J\\u009b2J\\u2028B\\u202eC"' in result.stdout
    assert json.loads(result.stdout)["service"] == name


# --- 2. Markdown and HTML: text from the files never reaches a report as markup ---------------------


@pytest.mark.parametrize(
    ("fmt", "escaped_name", "escaped_because"),
    [
        ("markdown", "# Decision: \\<script\\>alert(1)\\</script\\>", "Because no \\<script\\>alert(1)\\</script\\> \\| \\*here\\*."),
        ("html", "<h1>Decision: &lt;script&gt;alert(1)&lt;/script&gt;</h1>", "<p>Because no &lt;script&gt;alert(1)&lt;/script&gt; | *here*.</p>"),
    ],
)
def test_markup_in_a_service_name_and_a_because_text_is_escaped_in_reports(tmp_path: Path, fmt: str, escaped_name: str, escaped_because: str) -> None:
    rules = write_policy(tmp_path / "rules", because=f"no {SCRIPT} | *here*")
    facts = write_facts(tmp_path / "facts.json", service=SCRIPT, cost=f"£5 {SCRIPT}"[:3])
    result = run_cli("evaluate", str(rules), str(facts), "--format", fmt, "--as-of", "2024-01-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if fmt == "markdown":
        assert_no_raw_markup(result.stdout)
    else:
        assert result.stdout.count("<script") == 0
    lines = result.stdout.splitlines()
    assert escaped_name in lines
    assert escaped_because in lines


def test_markup_in_a_fact_value_and_an_element_of_a_facts_table_is_escaped(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules", asks=f"Cost? {SCRIPT}")
    facts = write_facts(tmp_path / "facts.json", service=f"x | y\n## heading {SCRIPT}")
    markdown = run_cli("evaluate", str(rules), str(facts), "--format", "markdown", "--as-of", "2024-01-01", cwd=tmp_path)
    assert markdown.returncode == 0, markdown.stderr
    assert_no_raw_markup(markdown.stdout)
    assert "## heading" not in markdown.stdout
    assert "| `service` | x \\| y \\#\\# heading \\<script\\>alert(1)\\</script\\> |" in markdown.stdout.splitlines()
    assert "1. Cost? \\<script\\>alert(1)\\</script\\> (`cost`)" in markdown.stdout.splitlines()
    page = run_cli("evaluate", str(rules), str(facts), "--format", "html", "--as-of", "2024-01-01", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert "<script" not in page.stdout
    assert "<title>Decision: x | y\n## heading &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page.stdout


# --- 3. bidi controls in a rule file are errors where they stand -----------------------------------

BIDI_MESSAGE = (
    "the invisible character {name} (U+{code}) is not allowed in a rule file: "
    "it changes the order in which text is shown, so a rule could read differently from what it does; delete it"
)


def test_bidi_controls_in_a_rule_file_are_each_an_error_with_their_place(tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules", because="access \u202e}if (admin)\u2066 ok")
    with rules.open("a", encoding="utf-8") as f:
        f.write("# reviewed \u200f\n")
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert_nothing_sent(result)
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors == [
        "rules/policy.rules:22:19: error: " + BIDI_MESSAGE.format(name="RIGHT-TO-LEFT OVERRIDE", code="202E"),
        "rules/policy.rules:22:31: error: " + BIDI_MESSAGE.format(name="LEFT-TO-RIGHT ISOLATE", code="2066"),
        "rules/policy.rules:31:12: error: " + BIDI_MESSAGE.format(name="RIGHT-TO-LEFT MARK", code="200F"),
    ]
    assert '      because "access \\u202e}if (admin)\\u2066 ok"' in result.stdout.splitlines()
    for raw in ("\u202e", "\u2066", "\u200f"):
        assert raw not in result.stdout + result.stderr
    facts = write_facts(tmp_path / "facts.json", service="S", cost="£5")
    evaluate = run_cli("evaluate", "rules", str(facts), cwd=tmp_path)
    assert evaluate.returncode == 2
    assert evaluate.stdout == ""
    assert "rules/policy.rules:22:19: error: " + BIDI_MESSAGE.format(name="RIGHT-TO-LEFT OVERRIDE", code="202E") in evaluate.stderr.splitlines()


def test_a_file_full_of_bidi_controls_is_reported_briefly(tmp_path: Path) -> None:
    (tmp_path / "flood.rules").write_text('policy "p"\n# ' + "\u202e" * 100_000 + "\n", encoding="utf-8")
    result = run_cli("check", "flood.rules", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 101
    assert errors[-1] == "flood.rules:2:103: error: and 99,900 more such characters after this one; delete them all"
    assert len(result.stdout) < 200_000


# --- 4. rule files: links out of the policy folder, files that are not files, unreadable files -------

SECRET = "https://officer:hunter2-SECRET-TOKEN@git.example.org"
OUTSIDE_FILE = "this is a link to a file outside the policy folder, so it is not read; copy the file into the policy folder instead"
OUTSIDE_FOLDER = "this is a link to a folder outside the policy folder, so it is not read; copy the folder into the policy folder instead"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".git-credentials"
    path.parent.mkdir()
    path.write_text(SECRET + "\nsecond line\n", encoding="utf-8")
    return path


def test_a_rule_file_linked_to_a_secret_outside_the_folder_is_refused_without_showing_it(tmp_path: Path, secret: Path) -> None:
    write_policy(tmp_path / "rules")
    (tmp_path / "rules" / "zz-extra.rules").symlink_to(secret)
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"rules/zz-extra.rules:1:1: error: {OUTSIDE_FILE}\n"
    assert "hunter2" not in result.stdout + result.stderr
    facts = write_facts(tmp_path / "facts.json", service="S", cost="£5")
    evaluate = run_cli("evaluate", "rules", str(facts), cwd=tmp_path)
    assert evaluate.returncode == 2
    assert evaluate.stderr == f"rules/zz-extra.rules:1:1: error: {OUTSIDE_FILE}\n"
    assert "hunter2" not in evaluate.stdout


def test_a_single_rule_file_that_links_outside_its_own_folder_is_refused(tmp_path: Path, secret: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "policy.rules").symlink_to(secret)
    result = run_cli("check", "rules/policy.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"rules/policy.rules:1:1: error: {OUTSIDE_FILE}\n"
    assert "hunter2" not in result.stdout + result.stderr


def test_a_linked_folder_that_leads_outside_is_refused_and_one_inside_is_read_once(tmp_path: Path, secret: Path) -> None:
    write_policy(tmp_path / "rules")
    (secret.parent / "more.rules").write_text(f"# {SECRET}\n", encoding="utf-8")
    (tmp_path / "rules" / "shared").symlink_to(secret.parent, target_is_directory=True)
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"rules/shared:1:1: error: {OUTSIDE_FOLDER}\n"
    assert "hunter2" not in result.stdout + result.stderr
    (tmp_path / "rules" / "shared").unlink()
    (tmp_path / "rules" / "again").symlink_to(tmp_path / "rules", target_is_directory=True)
    inside = run_cli("check", "rules", cwd=tmp_path)
    assert inside.returncode == 0, inside.stderr
    assert inside.stderr == "1 file checked: 0 errors, 0 warnings\n"


def test_links_that_go_round_in_a_loop_are_refused_without_hanging(tmp_path: Path) -> None:
    write_policy(tmp_path / "rules")
    (tmp_path / "rules" / "a.rules").symlink_to("b.rules")
    (tmp_path / "rules" / "b.rules").symlink_to("a.rules")
    (tmp_path / "rules" / "up").symlink_to("..", target_is_directory=True)
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    nowhere = "this link leads nowhere (its target is missing, or the links go round in a loop), so it is not read"
    assert result.stderr.splitlines() == [
        f"rules/a.rules:1:1: error: {nowhere}",
        f"rules/b.rules:1:1: error: {nowhere}",
        f"rules/up:1:1: error: {OUTSIDE_FOLDER}",
    ]


NOT_TEXT = "so it is not read; a rule file is an ordinary text file"


def test_a_pipe_in_the_policy_folder_is_refused_before_it_is_read(tmp_path: Path) -> None:
    write_policy(tmp_path / "rules")
    os.mkfifo(tmp_path / "rules" / "waiting.rules")
    result = run_cli("check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"rules/waiting.rules:1:1: error: this is a pipe, {NOT_TEXT}\n"


def test_dev_zero_named_directly_or_linked_is_refused(tmp_path: Path) -> None:
    named = run_cli("check", "/dev/zero", cwd=tmp_path)
    assert named.returncode == 1
    assert named.stderr == f"/dev/zero:1:1: error: this is a device, {NOT_TEXT}\n"
    facts = write_facts(tmp_path / "facts.json", service="S")
    evaluate = run_cli("evaluate", "/dev/zero", str(facts), cwd=tmp_path)
    assert evaluate.returncode == 2
    assert evaluate.stderr == f"/dev/zero:1:1: error: this is a device, {NOT_TEXT}\n"
    write_policy(tmp_path / "rules")
    (tmp_path / "rules" / "zero.rules").symlink_to("/dev/zero")
    linked = run_cli("check", "rules", cwd=tmp_path)
    assert linked.returncode == 1
    assert linked.stderr == f"rules/zero.rules:1:1: error: {OUTSIDE_FILE}\n"


def test_the_size_limit_counts_the_bytes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rules = write_policy(tmp_path / "rules")
    size = rules.stat().st_size
    monkeypatch.setattr(loader, "MAX_RULE_FILE_BYTES", size)
    assert cli.main(["check", str(rules)]) == 0
    monkeypatch.setattr(loader, "MAX_RULE_FILE_BYTES", size - 1)
    assert cli.main(["check", str(rules)]) == 1
    limit = f"{size - 1:,}"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{rules}:1:1: error: the file is larger than the limit of {limit} bytes for a rule file; split it into several files"
    )


@pytest.mark.parametrize(("command", "status"), [("check", 1), ("evaluate", 2), ("explain", 2)])
def test_an_unreadable_rule_file_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, status: int
) -> None:
    write_policy(tmp_path / "rules")
    locked = tmp_path / "rules" / "locked.rules"
    locked.write_text("# private\n", encoding="utf-8")
    facts = write_facts(tmp_path / "facts.json", service="S", cost="£5")
    real_open = os.open

    def denying_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if Path(str(path)).name == "locked.rules":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denying_open)
    args = [command, str(tmp_path / "rules")] + ([] if command == "check" else [str(facts)])
    assert cli.main(args) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    denied = "this file cannot be read (permission denied); check that it exists and that you may read it"
    assert captured.err == f"{tmp_path}/rules/locked.rules:1:1: error: {denied}\n"


# --- 5. literals too large to compute with ----------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "shown", "digits"),
    [
        ("£" + "9" * 1_000_000, "£9999999999999999999...", "1,000,000"),
        ("£1" + ",000" * 200, "£1,000,000,000,000,0...", "601"),
        ("9" * 1_000_000, "99999999999999999999...", "1,000,000"),
        ("0." + "0" * 200 + "1", "0.000000000000000000...", "202"),
        ("9" * 5_000 + "%", "99999999999999999999...", "5,000"),
    ],
)
def test_a_literal_with_too_many_digits_is_a_located_error(tmp_path: Path, literal: str, shown: str, digits: str) -> None:
    kind = "money" if literal.startswith("£") else "percentage" if literal.endswith("%") else "number"
    text = f'policy "p"\ndecision d\n  outcomes a, b\nfact x is {kind}\nrule r by default d is a\nrule s exception to r when x > {literal} then d is b\n'
    (tmp_path / "big.rules").write_text(text, encoding="utf-8")
    result = run_cli("check", "big.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert "internal error" not in result.stderr
    message = f"big.rules:6:32: error: `{shown}` has {digits} digits, more than the 100 a value in a rule file may have; write it with fewer digits"
    assert message in result.stdout.splitlines()
    assert len(result.stdout) < 2_000
    facts = write_facts(tmp_path / "facts.json", x="1")
    evaluate = run_cli("evaluate", "big.rules", str(facts), cwd=tmp_path)
    assert evaluate.returncode == 2
    assert message in evaluate.stderr.splitlines()


def test_a_huge_count_in_at_least_is_a_located_error(tmp_path: Path) -> None:
    count = "9" * 100_000
    condition = f"at least {count} of (x, x)"
    text = f'policy "p"\ndecision d\n  outcomes a, b\nfact x is yes/no\nrule r by default d is a\nrule s exception to r when {condition} then d is b\n'
    (tmp_path / "big.rules").write_text(text, encoding="utf-8")
    result = run_cli("check", "big.rules", cwd=tmp_path)
    assert result.returncode == 1
    message = (
        "big.rules:6:37: error: `99999999999999999999...` has 100,000 digits, more than the 100 a value in a rule file may have; write it with fewer digits"
    )
    assert message in result.stdout.splitlines()


def test_a_very_long_line_is_quoted_cut_around_the_column(tmp_path: Path) -> None:
    condition = "x or " * 100_000 + "c"
    text = f'policy "p"\ndecision d\n  outcomes a, b\nfact x is yes/no\nrule r by default d is a\nrule s exception to r when {condition} then d is b\n'
    (tmp_path / "long.rules").write_text(text, encoding="utf-8")
    result = run_cli("check", "long.rules", cwd=tmp_path)
    assert result.returncode == 1
    head, excerpt, caret = located(result.stdout, "long.rules:6:500028: error: ")
    assert head == "long.rules:6:500028: error: `c` is not declared"
    assert excerpt == "    ..." + ("x or " * 100)[-147:] + "c then d is b"
    assert caret == " " * (len(excerpt) - len("c then d is b")) + "^"


def test_many_findings_on_one_long_line_do_not_exhaust_memory(tmp_path: Path) -> None:
    text = 'policy "p"\ndecision d\n  outcomes a, b\nrule r by default d is ' + "u or " * 20_000 + "a\n"
    (tmp_path / "long.rules").write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["/usr/bin/env", "bash", "-c", 'ulimit -v 1000000 && exec "$0" -m policy_rules.cli check long.rules', sys.executable],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-500:]
    assert result.stderr == "1 file checked: 20002 errors, 2 warnings\n"
    assert len(result.stdout.splitlines()) == 3 * 20_004


# --- 6. line numbers count "\n" only, as the parser does ----------------------------------------------


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\r", "\x1c", "\x1e"], ids=repr)
@pytest.mark.parametrize(
    ("template", "message", "line", "caret"),
    [
        (LINE_FIVE_ERROR, "policy.rules:5:24: error: `c` is not an outcome of decision `d`; its outcomes are a, b", f"    {LINE_FIVE} c", " " * 27 + "^"),
        (LINE_FIVE_SYNTAX, "policy.rules:5:23: error: this rule declaration stops before it is complete; expected ", f"    {LINE_FIVE}", " " * 26 + "^"),
    ],
    ids=["check", "syntax"],
)
def test_a_line_break_the_parser_does_not_count_keeps_the_excerpt_on_the_reported_line(
    tmp_path: Path, char: str, template: str, message: str, line: str, caret: str
) -> None:
    (tmp_path / "policy.rules").write_bytes(template.format(char=char).encode())
    result = run_cli("check", "policy.rules", cwd=tmp_path)
    assert result.returncode == 1
    head, excerpt, under = located(result.stdout, message)
    assert head.startswith(message)
    assert [excerpt, under] == [line, caret]
