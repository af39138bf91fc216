"""Nothing lost: outputs written whole or not at all, inputs never overwritten, every register row accounted for.

Each attack (or careless mistake) runs through the real command line and the
test checks the exit status, the exact message, and the files on disk
afterwards: the input unchanged, no half-written or temporary file left.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from benchmarks.haringey_services import generate, write_csv
from policy_rules import cli, load_policy
from policy_rules.registers.facts import MAX_YAML_FILE_BYTES, ServiceFacts
from policy_rules.registers.register import run_register
from tests.engine.test_evaluator import CONFLICT
from tests.support.cli_helpers import HARINGEY, ROOT, run_cli

AS_OF = "2024-04-01"
REGISTER = "service,annual_spend,nhs_expertise\nA,1000,yes\nB,lots,no\nC,2000,yes\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files the tool may have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def written(folder: Path) -> int:
    """Bytes in the temporary files of ``leftovers``."""
    total = 0
    for name in leftovers(folder):
        with contextlib.suppress(FileNotFoundError):  # renamed into place meanwhile
            total += (folder / name).stat().st_size
    return total


@pytest.fixture
def register(tmp_path: Path) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text(REGISTER, encoding="utf-8")
    return path


# --- an output that is an input --------------------------------------------------------------


def test_output_that_is_the_facts_file_is_refused_and_the_register_kept(register: Path) -> None:
    before = digest(register)
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "reg.csv", cwd=register.parent)
    assert result.returncode == 2
    assert result.stderr == "reg.csv: error: --output names the facts file (reg.csv); writing there would destroy it, so give another file name\n"
    assert result.stdout == ""
    assert digest(register) == before
    assert leftovers(register.parent) == []


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_output_linked_to_the_facts_file_is_refused(register: Path, link: str) -> None:
    other = register.parent / "decisions.csv"
    os.link(register, other) if link == "hard" else other.symlink_to(register)
    before = digest(register)
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "decisions.csv", cwd=register.parent)
    assert result.returncode == 2
    assert result.stderr == "decisions.csv: error: --output names the facts file (reg.csv); writing there would destroy it, so give another file name\n"
    assert digest(register) == before


def test_report_that_is_the_facts_file_or_the_output_is_refused(register: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.md"
    facts.symlink_to(register)
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.csv", "--report", "facts.md", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "facts.md: error: --report names the facts file (reg.csv); writing there would destroy it, so give another file name\n"
    (tmp_path / "d.md").symlink_to(tmp_path / "d.json")
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.json", "--report", "d.md", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "d.md: error: --report names the file given to --output (d.json); writing there would destroy it, so give another file name\n"
    assert not (tmp_path / "d.csv").exists() and not (tmp_path / "d.json").exists()
    assert digest(register) == hashlib.sha256(REGISTER.encode()).hexdigest()


def test_output_that_is_a_rule_file_is_refused_and_the_rules_kept(register: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in HARINGEY.iterdir():
        (rules / f.name).write_bytes(f.read_bytes())
    target = sorted(rules.glob("*.rules"))[0]
    before = digest(target)
    (tmp_path / "decisions.json").symlink_to(target)
    result = run_cli("evaluate", "rules", "reg.csv", "--output", "decisions.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"decisions.json: error: --output names a rule file (rules/{target.name}); writing there would destroy it, so give another file name\n"
    )
    assert digest(target) == before


# --- written whole or not at all --------------------------------------------------------------


def test_a_failed_run_leaves_the_previous_decisions_file_as_it_was(register: Path) -> None:
    old = register.parent / "decisions.csv"
    old.write_text("the decisions of last month\n", encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "decisions.csv", "--report", "missing/summary.md", cwd=register.parent)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "missing/summary.md: error: cannot write in this folder (No such file or directory)"
    assert old.read_text(encoding="utf-8") == "the decisions of last month\n"
    assert leftovers(register.parent) == []


def test_a_finished_run_replaces_the_file_keeping_its_permissions_and_leaves_no_temporary_file(register: Path) -> None:
    old = register.parent / "decisions.csv"
    old.write_text("old\n", encoding="utf-8")
    old.chmod(0o640)
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "decisions.csv", "--report", "s.html", "--as-of", AS_OF, cwd=register.parent)
    assert result.returncode == 2  # B's facts are wrong
    assert [r["service"] for r in csv.DictReader(old.open(encoding="utf-8"))] == ["A", "B", "C"]
    assert old.stat().st_mode & 0o777 == 0o640
    assert (register.parent / "s.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert leftovers(register.parent) == []


# --- CSV read strictly --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'service,annual_spend\nA,1000\n"B,2000\nC,3000\nD,4000\n',
            'line 3: a quote (") opens a cell here and is never closed, so every later row would be read into that cell; close the quote',
        ),
        ("service,annual_spend\nA,1000\nB\nC,3000\n", "line 3: row 3 has 1 cell but the header has 2 columns"),
        ("service,annual_spend\nA,1000,9\n", "line 2: row 2 has 3 cells but the header has 2 columns"),
        (
            "service,annual_spend\n" + "A,1000\n" * 3000 + "B\x00,1\n",
            "line 3002: this line holds a NUL byte, which a CSV file cannot; save the file again as CSV text",
        ),
    ],
    ids=["unclosed-quote", "short-row", "long-row", "nul"],
)
def test_a_malformed_csv_register_is_an_error_at_its_line_and_nothing_is_written(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "reg.csv").write_text(text, encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"reg.csv: error: {message}\n"
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.csv"]


# --- every row accounted for -------------------------------------------------------------------


def test_every_register_row_appears_with_its_status_and_the_summary_counts_each_kind(tmp_path: Path) -> None:
    (tmp_path / "p.rules").write_text(textwrap.dedent(CONFLICT).lstrip("\n"), encoding="utf-8")
    (tmp_path / "reg.csv").write_text("a,b,c\nyes,no,no\nyes,yes,no\nmaybe,no,no\nno,no,no\n", encoding="utf-8")
    result = run_cli("evaluate", "p.rules", "reg.csv", "--output", "d.jsonl", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["service"], r["status"], r.get("outcome")) for r in rows] == [
        ("#1", "decided", "y"),
        ("#2", "error", None),
        ("#3", "error", None),
        ("#4", "decided", "x"),
    ]
    assert rows[1]["error"]["message"].startswith("conflict in decision d for service '#2': rule via_a (p.rules:11:1) and rule via_b (p.rules:16:1)")
    assert rows[1]["error"]["location"] == "p.rules:11:1"
    assert rows[2]["error"] == {"message": '"maybe" is not yes or no; write yes, no, true or false', "location": "reg.csv: service '#3': fact 'a'"}
    assert result.stdout.splitlines()[1] == (
        "2 services could not be decided: 1 with wrong facts, 1 with a rule conflict "
        "(see the messages above; each has a row with status `error` in the decisions file)"
    )


def test_plain_evaluate_prints_the_decisions_it_could_make_and_the_errors_for_the_others(register: Path) -> None:
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--format", "json", "--as-of", AS_OF, cwd=register.parent)
    assert result.returncode == 2
    assert [d["service"] for d in json.loads(result.stdout)] == ["A", "C"]
    assert result.stderr.splitlines() == [
        "reg.csv: service 'B': fact 'annual_spend': error: \"lots\" is not money; write an amount such as 1200000 or £1,200,000",
        "2 of 3 services decided; 1 could not be decided (see the message above)",
    ]


# --- nothing injected by what the tool writes ----------------------------------------------------


def test_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    (tmp_path / "reg.csv").write_text(
        'service,annual_spend,nhs_expertise\n"=HYPERLINK(""http://evil.example"",""click"")",1000,yes\n@SUM(A1),5,maybe\n-2+3,1,yes\n',
        encoding="utf-8",
    )
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.csv", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    rows = list(csv.DictReader((tmp_path / "d.csv").open(encoding="utf-8")))
    assert [r["service"] for r in rows] == ['\'=HYPERLINK("http://evil.example","click")', "'@SUM(A1)", "'-2+3"]
    assert rows[1]["message"].startswith("reg.csv: service '@SUM(A1)'")
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())


def test_summary_reports_and_terminal_show_names_from_the_register_as_text(tmp_path: Path) -> None:
    name = "<script>alert(1)</script> | \x1b[2J"
    (tmp_path / "reg.csv").write_text(f'service,annual_spend\n"{name}",1000\n', encoding="utf-8")
    for report in ("s.md", "s.html"):
        result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.csv", "--report", report, "--as-of", AS_OF, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout
        assert "  <script>alert(1)</script> | \\x1b[2J: needs " in result.stdout
    markdown = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert "| \\<script\\>alert(1)\\</script\\> \\| \\\\x1b\\[2J | " in markdown
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt; | \\x1b[2J</td>" in page
    assert "<script>" not in markdown + page and "\x1b" not in markdown + page


# --- interrupts ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "reg.csv"
    write_csv(generate(150_000, seed=11), str(path))
    return path


@pytest.mark.parametrize(("signals", "name"), [([signal.SIGINT], "sigint"), ([signal.SIGINT] * 3, "sigint-thrice"), ([signal.SIGTERM], "sigterm")])
def test_an_interrupted_run_writes_nothing_and_says_how_far_it_got(big_register: Path, tmp_path: Path, signals: list[int], name: str) -> None:
    old = tmp_path / "decisions.csv"
    old.write_text("the decisions of last month\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "policy_rules.cli", "evaluate", str(HARINGEY), str(big_register), "--output", "decisions.csv", "--report", "s.md"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    # Once decisions reach the temporary output, some services are decided: under load, a fixed wait after the file
    # appeared was once too short (interrupted after 0 services).
    while not written(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    for number in signals:
        process.send_signal(number)
        time.sleep(0.005)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1
    done = int(lines[0].split()[2].replace(",", ""))
    assert 0 < done < 150_000
    # The register is decided as it is read, so how many services it holds is not yet known.
    assert lines[0] == f"interrupted after {done:,} services; nothing was written to decisions.csv or s.md"
    assert out == ""
    assert old.read_text(encoding="utf-8") == "the decisions of last month\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.csv"]


# --- facts files that are not files, too big, or unreadable ----------------------------------------


def test_a_device_a_pipe_or_a_folder_as_facts_is_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "facts.csv"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        result = run_cli("evaluate", str(HARINGEY), path)
        assert result.returncode == 2
        assert result.stderr == f"{path}: error: this is not a regular file (a device, a pipe or a socket); give a YAML, JSON or CSV facts file\n"
    result = run_cli("evaluate", str(HARINGEY), str(tmp_path))
    assert (result.returncode, result.stderr) == (2, f"{tmp_path}: error: this is a folder; give a YAML, JSON or CSV facts file\n")


def test_the_size_limit_applies_to_the_bytes_read_not_to_what_stat_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = tmp_path / "facts.yaml"
    path.write_text("service: A\nnote: " + "x" * MAX_YAML_FILE_BYTES + "\n", encoding="utf-8")
    real_stat = Path.stat

    def small(self: Path, *args, **kwargs):  # a file that grows after it was measured
        found = real_stat(self, *args, **kwargs)
        return os.stat_result((found.st_mode, *found[1:6], 10, *found[7:])) if self == path else found

    monkeypatch.setattr(Path, "stat", small)
    assert cli.main(["evaluate", str(HARINGEY), str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: error: the file is more than {MAX_YAML_FILE_BYTES:,} bytes, larger than the limit of {MAX_YAML_FILE_BYTES:,} for YAML "
        "(reading YAML is slow); give a large register as CSV or JSON\n"
    )


def test_an_unreadable_facts_file_is_a_user_error_that_shows_none_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("service: https://user:hunter2@example.org\n", encoding="utf-8")
    link = tmp_path / "facts.yaml"
    link.symlink_to(secret)
    real_open = Path.open

    def denied(self: Path, *args, **kwargs):
        if self == link:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    assert cli.main(["evaluate", str(HARINGEY), str(link)]) == 2
    err = capsys.readouterr().err
    assert err == f"{link}: error: this file cannot be read (Permission denied); check its permissions\n"
    assert "hunter2" not in err


def test_a_facts_file_symlinked_elsewhere_is_read(tmp_path: Path) -> None:
    link = tmp_path / "facts.yaml"
    link.symlink_to(ROOT / "examples" / "facilities-management.yaml")
    result = run_cli("evaluate", str(HARINGEY), str(link), "--format", "json", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["service"] == "Facilities management"


def test_the_summary_data_counts_facts_errors_and_rule_conflicts_apart(tmp_path: Path) -> None:
    (tmp_path / "p.rules").write_text(textwrap.dedent(CONFLICT).lstrip("\n"), encoding="utf-8")
    policy = load_policy(tmp_path / "p.rules")
    rows = [{"a": "yes", "b": "yes"}, {"a": "maybe"}, {"a": "no", "b": "no", "c": "no"}, {"b": 3}]
    services = [ServiceFacts(raw, "reg.csv", i) for i, raw in enumerate(rows)]
    data = run_register(policy, services, date(2024, 4, 1), writer=None, spend_fact=None).to_dict()
    assert (data["services"], data["decided"], len(data["errors"])) == (4, 1, 3)
    assert (data["facts_errors"], data["rule_conflicts"], data["evaluation_errors"]) == (2, 1, 0)
