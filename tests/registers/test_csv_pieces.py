"""A CSV register cut into pieces of lines decides and fails exactly as the register read a row at a time.

The pieces route (``CsvRegister.pieces``, ``register._run_pieces``) guesses
where each piece starts (one row and one service a line) and cuts where the
quotes before are even. These tests make pieces of a few lines, so that blank
rows, rows of several lines, quotes standing alone in a cell and errors fall
across the cuts, and decide several pieces ahead (as workers do), so that the
guesses are wrong and must be corrected; the decisions file, the summary and
the messages must be those of the plain reading (``read_facts_file``).
"""

from __future__ import annotations

import csv
import functools
import io
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from benchmarks.haringey_services import generate, write_csv
from policy_rules import load_policy
from policy_rules.errors import FactsError
from policy_rules.registers import facts, register
from policy_rules.registers.facts import FactsStream, read_facts_file
from policy_rules.registers.register import DecisionWriter, Summary, run_register
from policy_rules.safety.escape import for_csv_cell
from tests.support.cli_helpers import HARINGEY, run_cli

AS_OF = date(2024, 4, 1)


@pytest.fixture(scope="module")
def policy() -> Any:
    return load_policy(HARINGEY)


def _plain(policy: Any, path: Path, out: Path) -> tuple[bytes, dict[str, Any], list[str]] | str:
    """The decisions file, summary and messages of the register read a row at a time, or the message that stopped it."""
    messages: list[str] = []
    try:
        services = read_facts_file(str(path)).services
    except FactsError as error:
        return str(error)
    writer = DecisionWriter(str(out), False)
    summary = run_register(policy, services, AS_OF, writer=writer, spend_fact="annual_spend", on_error=messages.append)
    writer.close()
    return out.read_bytes(), summary.to_dict(), messages


def _in_pieces(policy: Any, path: Path, out: Path, ahead: int) -> tuple[bytes, dict[str, Any], list[str]] | str:
    """The same, read in pieces and decided ``ahead`` pieces at a time in this process."""
    messages: list[str] = []
    writer = DecisionWriter(str(out), False)
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, AS_OF.isoformat(), "annual_spend")
    job = register._Job(AS_OF, "annual_spend", ".csv", False)
    try:
        with FactsStream(str(path)) as stream:
            cut = stream.csv_pieces()
            assert cut is not None
            register._run_pieces(cut, summary, writer, None, messages.append, functools.partial(register._here, policy, job), ahead)
    except FactsError as error:
        writer.discard()
        return str(error)
    writer.close()
    return out.read_bytes(), summary.finish().to_dict(), messages


def _same(policy: Any, tmp_path: Path, text: str | bytes, monkeypatch: pytest.MonkeyPatch, lines: int = 3) -> tuple[bytes, dict[str, Any], list[str]] | str:
    path = tmp_path / "reg.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    expected = _plain(policy, path, tmp_path / "plain.csv")
    monkeypatch.setattr(facts, "PIECE_LINES", lines)
    for ahead in (1, 4):
        assert _in_pieces(policy, path, tmp_path / f"pieces{ahead}.csv", ahead) == expected, ahead
    return expected


HEADER = "service,annual_spend,nhs_expertise,elements\n"


def test_blank_rows_and_unnamed_services_keep_their_numbers(policy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = HEADER + "A,1000,yes,\n\n,,,\n,2000,no,\nB,lots,yes,\n \n,3000,yes,\n" * 5 + ",4000,maybe,\n"
    found = _same(policy, tmp_path, text, monkeypatch)
    assert not isinstance(found, str)
    assert b"\n#2," in found[0] and b"\n#20," in found[0]
    assert found[2][-1].endswith("reg.csv: service '#21': fact 'nhs_expertise': error: \"maybe\" is not yes or no; write yes, no, true or false")


def test_rows_of_several_lines_across_the_cuts(policy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    element = '"[{""name"": ""Lift,\nrepair"", ""specialist"": true},\n {""name"": ""Cleaning"", ""specialist"": false}]"'
    text = HEADER + "".join(f'"S {i}\nsecond line",{1000 + i},yes,{element}\n,{i},no,\n' for i in range(12))
    found = _same(policy, tmp_path, text, monkeypatch)
    assert not isinstance(found, str) and found[1]["services"] == 24


def test_quotes_alone_in_unquoted_cells_make_wrong_cuts_that_are_read_again(policy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A quote inside an unquoted cell is text; counting quotes then takes a line break inside a quoted cell for the end of a row.
    text = HEADER + 'Pipes 5" wide,1000,yes,\n' + "".join(f'"Row\n{i}",{i},no,\nX{i},1,yes,\n' for i in range(10)) + 'Pipes 6" wide,7,no,\n'
    found = _same(policy, tmp_path, text, monkeypatch, lines=2)
    assert not isinstance(found, str) and found[1]["services"] == 22


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "A,1,yes,\n" * 7 + '"B,1,yes,\n' + "C,1,no,\n" * 3, 'line 9: a quote (") opens a cell here and is never closed'),
        (HEADER + "A,1,yes,\n\n\n" * 4 + "B,1\n", "line 14: row 14 has 2 cells but the header has 4 columns"),
        (HEADER + "A,1,yes,\n" * 8 + "B\x00,1,yes,\n", "line 10: this line holds a NUL byte"),
        ((HEADER + "A,1,yes,\n" * 8).encode() + b"B\xff,1,yes,\n", "this file is not UTF-8 text (byte 117 cannot be read)"),
        (HEADER + 'A,"1"x,yes,\n', "line 2: this CSV cannot be read"),
        (HEADER + "\n , ,,\n", "the CSV file has a header row but no services"),
        (HEADER, "the CSV file has a header row but no services"),
        ("", "the file is empty"),
        (" \n\n  \n", "the file is empty"),
        ("service,service\nA,B\n", "the column `service` appears twice in the header row"),
    ],
    ids=["unclosed-quote", "short-row", "nul", "not-utf8", "bad-quote", "only-blank-rows", "header-only", "empty", "blank", "duplicate-column"],
)
def test_errors_are_those_of_the_plain_reading(policy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str) -> None:
    found = _same(policy, tmp_path, text, monkeypatch)
    assert isinstance(found, str) and message in found, found


def test_a_byte_order_mark_and_crlf_line_ends(policy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = ("\ufeff" + HEADER + "A,1000,yes,\n,2000,no,\n" * 6).replace("\n", "\r\n")
    found = _same(policy, tmp_path, text, monkeypatch)
    assert not isinstance(found, str) and found[1]["services"] == 12


def test_jobs_2_decides_a_register_with_rows_of_several_lines_as_jobs_1(tmp_path: Path) -> None:
    services = generate(6_000, seed=5, missing=0.02)
    for i, s in enumerate(services[::7]):
        s["service"] = f'{s["service"]}\nline {i}, with a "quote"'
    write_csv(services, str(tmp_path / "reg.csv"))
    with (tmp_path / "reg.csv").open("a", encoding="utf-8") as f:
        f.write("\n\n")
    results = {}
    for jobs in ("1", "2"):
        result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", f"d{jobs}.csv", "--as-of", AS_OF.isoformat(), "--jobs", jobs, cwd=tmp_path)
        results[jobs] = (result.returncode, result.stdout, result.stderr.replace(f"d{jobs}.csv", "d.csv"))
    assert results["1"] == results["2"]
    assert (tmp_path / "d1.csv").read_bytes() == (tmp_path / "d2.csv").read_bytes()
    assert results["1"][1].splitlines()[0].startswith("6,000 of 6,000 services decided")


def test_a_text_cell_is_written_as_csv_writer_writes_it_after_neutralising_formulas() -> None:
    def expected(value: str) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([for_csv_cell(value), ""])
        return out.getvalue()[: -len(",\n")]

    rng = random.Random(12)
    alphabet = ["a", "1", " ", ".", "=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "'", "é", "\u2028"]
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert register._csv_text(value) == expected(value), value
