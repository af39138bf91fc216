"""Registers in columns (``registers.columns``): Parquet in and out, bad cells located as the row reader locates them, and a Dask cluster."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.haringey_services import generate, write_csv
from policy_rules.api import load_policy
from policy_rules.registers import columns
from policy_rules.registers.facts import FactsStream
from policy_rules.registers.register import DecisionWriter, run_register
from tests.support.cli_helpers import HARINGEY, ROOT, run_cli

AS_OF = date(2025, 1, 1)
REGISTERS = [ROOT / "examples" / "register.csv", ROOT / "examples" / "insourcing-register.csv"]


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(str(HARINGEY))


def by_rows(policy, register: Path, out: Path) -> dict:  # type: ignore[no-untyped-def]
    writer = DecisionWriter(str(out), False)
    with FactsStream(str(register), known=policy.model.fact_types) as services:
        summary = run_register(policy, services, AS_OF, writer=writer, spend_fact="annual_spend")
    writer.close()
    return summary.to_dict()


def in_columns(policy, register: Path, out: Path, decider=None) -> dict:  # type: ignore[no-untyped-def]
    writer = columns.ColumnWriter(str(out), policy, AS_OF, "annual_spend")
    summary = columns.run_columns(policy, columns.ColumnRegister(str(register), policy), AS_OF, writer=writer, spend_fact="annual_spend", decider=decider)
    writer.close()
    return summary.to_dict()


@pytest.mark.parametrize("step", [columns.decide_by_rows, columns.decide_by_columns], ids=["by-rows", "by-columns"])
@pytest.mark.parametrize("register", REGISTERS, ids=lambda p: p.name)
@pytest.mark.parametrize("kind", [".csv", ".jsonl", ".json"])
def test_the_bundled_registers_give_the_bytes_and_summary_of_the_row_writer(policy, tmp_path: Path, register: Path, kind: str, step) -> None:  # type: ignore[no-untyped-def]
    rows = by_rows(policy, register, tmp_path / f"rows{kind}")
    cols = in_columns(policy, register, tmp_path / f"cols{kind}", columns.decided_here(policy, AS_OF, step))
    assert (tmp_path / f"cols{kind}").read_bytes() == (tmp_path / f"rows{kind}").read_bytes()
    assert cols == rows


def test_the_columnar_step_decides_rows_itself_and_sends_the_rest(policy) -> None:  # type: ignore[no-untyped-def]
    """The bundled register decided in columns: the columnar mode keeps some rows and sends others, and the merged table is the row step's."""
    batch = next(iter(columns.ColumnRegister(str(REGISTERS[1]), policy)))
    kept, sent, stats = policy.decide_columns_kept(batch.facts, AS_OF)
    assert kept is not None and 0 < len(sent) < batch.facts.num_rows and sum(stats.values()) == len(sent)
    assert columns.decide_by_columns(policy, batch.facts, AS_OF).equals(columns.decide_by_rows(policy, batch.facts, AS_OF))


BAD = (
    "service,annual_spend,nhs_expertise,contract_end_date,staff\n"
    'Good,"£1,200,000",yes,2025-03-31,12\n'
    "Bad money,lots,no,2025-03-31,3\n"
    "Bad date,100,no,2025-02-30,3\n"
    ",100,perhaps,2025-01-01,4\n"
    "Negative,-5,no,,\n"
    "Two bad,lots,perhaps,,\n"
)


def test_bad_cells_are_error_rows_with_the_row_readers_messages_csv_jsonl_parquet(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv_file = tmp_path / "reg.csv"
    csv_file.write_text(BAD, encoding="utf-8")
    expected = tmp_path / "rows.jsonl"
    summary = by_rows(policy, csv_file, expected)
    assert summary["error_count"] == 5
    assert in_columns(policy, csv_file, tmp_path / "cols.jsonl") == summary
    assert (tmp_path / "cols.jsonl").read_bytes() == expected.read_bytes()
    assert in_columns(policy, csv_file, tmp_path / "by-columns.jsonl", columns.decided_here(policy, AS_OF, columns.decide_by_columns)) == summary
    assert (tmp_path / "by-columns.jsonl").read_bytes() == expected.read_bytes()
    lines = [json.loads(line) for line in expected.read_text(encoding="utf-8").splitlines()]
    assert lines[1]["error"] == {
        "message": '"lots" is not money; write an amount such as 1200000 or £1,200,000',
        "location": f"{csv_file}: service 'Bad money': fact 'annual_spend'",
    }
    assert lines[3]["service"] == "#4" and lines[3]["error"]["location"] == f"{csv_file}: service '#4': fact 'nhs_expertise'"
    # JSON Lines and Parquet registers holding the same cells as text give the same rows (their own file named).
    cells = [dict(zip(BAD.splitlines()[0].split(","), row, strict=True)) for row in __import__("csv").reader(BAD.splitlines()[1:])]
    jsonl = tmp_path / "reg.jsonl"
    jsonl.write_text("".join(json.dumps({k: v for k, v in c.items() if v}) + "\n" for c in cells), encoding="utf-8")
    parquet = tmp_path / "reg.parquet"
    pq.write_table(pa.table({k: [c[k] for c in cells] for k in cells[0]}), parquet)
    for register in (jsonl, parquet):
        by_rows_out = tmp_path / f"rows-{register.suffix[1:]}.jsonl" if register.suffix != ".parquet" else None
        got = tmp_path / f"cols-{register.suffix[1:]}.jsonl"
        in_columns(policy, register, got)
        want = expected.read_text(encoding="utf-8").replace(str(csv_file), str(register))
        if by_rows_out is not None:
            by_rows(policy, register, by_rows_out)
            want = by_rows_out.read_text(encoding="utf-8")
        assert got.read_text(encoding="utf-8") == want


def test_parquet_in_and_out_through_the_command_line(tmp_path: Path) -> None:
    register = REGISTERS[0]
    table = pa.csv.read_csv(
        register,
        convert_options=pa.csv.ConvertOptions(
            strings_can_be_null=False, column_types=dict.fromkeys(register.read_text().split("\n")[0].split(","), pa.string())
        ),
    )
    pq.write_table(table, tmp_path / "reg.parquet")
    from_csv = run_cli("evaluate", str(HARINGEY), str(register), "--output", "a.csv", "--as-of", "2025-01-01", cwd=tmp_path)
    from_parquet = run_cli("evaluate", str(HARINGEY), "reg.parquet", "--output", "b.csv", "--as-of", "2025-01-01", cwd=tmp_path)
    assert from_parquet.returncode == from_csv.returncode == 0, from_parquet.stderr
    assert from_parquet.stdout == from_csv.stdout
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()
    out = run_cli("evaluate", str(HARINGEY), str(register), "--output", "d.parquet", "--as-of", "2025-01-01", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    decided = pq.read_table(tmp_path / "d.parquet")
    rows = list(__import__("csv").DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert decided.column("service").to_pylist() == [r["service"] for r in rows]
    assert decided.column("outcome").to_pylist() == [r["outcome"] for r in rows]
    assert [";".join(r) for r in decided.column("reasons").to_pylist()] == [r["reasons"] for r in rows]
    assert decided.schema.field("annual_spend").type == pa.decimal128(38, 2) and decided.schema.field("as_of").type == pa.date32()
    refused = run_cli("evaluate", str(HARINGEY), "reg.parquet", "--output", "reg.parquet", cwd=tmp_path)
    assert refused.returncode == 2 and "writing there would destroy it" in refused.stderr


def test_a_local_dask_cluster_gives_the_bytes_of_a_run_here(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    from policy_rules.cluster import on_cluster
    from policy_rules.language.loader import read_sources

    register = REGISTERS[1]
    here = in_columns(policy, register, tmp_path / "here.csv")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        there = in_columns(policy, register, tmp_path / "there.csv", decider=on_cluster(client, read_sources([str(HARINGEY)]), "haringey", AS_OF))
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert there == here


BAD_CELLS = ["lots", "-5", "perhaps", "2025-02-30", "n/a", "£1,2", "  ", "=1+1"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    missing=st.sampled_from([0.0, 0.1, 0.4]),
    spoiled=st.lists(st.tuples(st.integers(0, 59), st.sampled_from(BAD_CELLS)), max_size=6),
)
def test_generated_registers_with_blank_and_bad_cells_give_the_row_paths_bytes_by_columns(policy, tmp_path: Path, seed: int, missing: float, spoiled) -> None:  # type: ignore[no-untyped-def]
    """Generated Haringey registers, blank cells and bad cells in them: the columnar step writes the row writer's bytes and summary, CSV and JSON Lines."""
    services = generate(60, seed=seed, missing=missing)
    names = sorted({k for s in services for k in s if k != "service"})
    for at, cell in spoiled:
        services[at][names[(at * 7 + len(cell)) % len(names)]] = cell
    register = tmp_path / f"gen-{seed}.csv"
    write_csv(services, str(register))
    for kind in (".csv", ".jsonl"):
        rows = by_rows(policy, register, tmp_path / f"rows-{seed}{kind}")
        cols = in_columns(policy, register, tmp_path / f"cols-{seed}{kind}", columns.decided_here(policy, AS_OF, columns.decide_by_columns))
        assert (tmp_path / f"cols-{seed}{kind}").read_bytes() == (tmp_path / f"rows-{seed}{kind}").read_bytes()
        assert cols == rows


YES_NO_SPELLINGS = ["yes", "no", "Yes", " NO ", "y", "n", "TRUE", "false", "", "n/a", "unknown", "?", "perhaps", "yés"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), rows=st.sampled_from([17, 64, 150]), odd=st.sampled_from([0.0, 0.05, 0.6]))
def test_yes_no_cells_read_as_a_dictionary_across_blocks_and_batches_give_the_row_paths_bytes(
    policy, tmp_path: Path, monkeypatch, seed: int, rows: int, odd: float
) -> None:  # type: ignore[no-untyped-def]
    """Yes/no cells spelled every way, and many distinct wrong spellings, read by the CSV reader as dictionaries in small blocks cut into
    batches: the row writer's bytes and summary, and no batch carries the spellings of the rows before it."""
    import random

    pick = random.Random(seed)
    services = generate(1000, seed=seed)
    yes_no = [f for f, t in policy.model.fact_types.items() if t.kind == "yes/no"]
    for at, service in enumerate(services):
        service[yes_no[0]] = f"wrong {at}" if pick.random() < odd else pick.choice(YES_NO_SPELLINGS)
        for fact in pick.sample(yes_no[1:], 3):
            service[fact] = pick.choice(YES_NO_SPELLINGS)
    register = tmp_path / f"spelled-{seed}.csv"
    write_csv(services, str(register))
    monkeypatch.setattr(columns, "_CSV_BLOCK", 4096)
    monkeypatch.setattr(columns, "_DICTIONARY_KEPT", 8)
    rows_summary = by_rows(policy, register, tmp_path / "rows.csv")
    writer = columns.ColumnWriter(str(tmp_path / "cols.csv"), policy, AS_OF, "annual_spend")
    summary = columns.run_columns(policy, columns.ColumnRegister(str(register), policy, rows), AS_OF, writer=writer, spend_fact="annual_spend")
    writer.close()
    assert (tmp_path / "cols.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
    assert summary.to_dict() == rows_summary
    block_rows = 4096 // 100
    for batch, _header in columns._csv_batches(str(register), policy.model, rows):
        for column in batch.columns:
            if pa.types.is_dictionary(column.type):
                assert len(column.dictionary) <= len(YES_NO_SPELLINGS) + 8 + 2 * (rows + block_rows)


NEAR_DATES = ["0000-01-01", "2024-02-29", "2023-02-29", "2024-2-01", " 2024-03-31 ", "2024-04-31", "2024/01/01", "\uff12024-01-01", "n/a", "", "+202-01-01"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.one_of(st.dates().map(date.isoformat), st.sampled_from(NEAR_DATES), st.text(alphabet="0123456789-", min_size=10, max_size=10)),
        min_size=1,
        max_size=40,
    )
)
def test_a_date_column_reads_each_cell_as_the_row_reader_does(policy, cells: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Every cell of a date column, whether Arrow's cast can read the whole column or not: the value ``convert`` gives, or its error for that row."""
    from policy_rules.engine.facts import convert
    from policy_rules.errors import FactsError
    from policy_rules.values.types import UNKNOWN

    model = policy.model
    converter = columns._Converter(model, "reg.csv", 0, len(cells), [])
    read = converter.column("contract_end_date", pa.array(cells, pa.string())).to_pylist()
    for row, cell in enumerate(cells):
        try:
            expected = convert(cell, model.fact_types["contract_end_date"], model, path="reg.csv", service=converter.name(row), fact="contract_end_date")
        except FactsError as error:
            assert converter.errors[row] is not None and converter.errors[row].message == error.message, (cell, converter.errors[row])
            continue
        assert converter.errors[row] is None, (cell, converter.errors[row])
        assert read[row] == (None if expected is UNKNOWN else expected), cell


def test_batches_read_ahead_come_in_order_and_then_the_readers_error() -> None:
    """The reading thread hands on every batch it read before its error, then the error itself, in the caller's thread."""
    from policy_rules.errors import FactsError

    def source():  # type: ignore[no-untyped-def]
        yield from range(5)
        raise FactsError("the CSV file has a header row but no services", path="reg.csv")

    seen = []
    with pytest.raises(FactsError, match="no services"):
        for item in columns.read_ahead(source(), depth=1):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_closing_batches_read_ahead_stops_the_reader_and_closes_its_source() -> None:
    """An interrupt or a write error closes the batches: the reading thread ends, and the register it reads is closed (its file with it)."""
    import threading

    closed = threading.Event()

    def source():  # type: ignore[no-untyped-def]
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    batches = columns.read_ahead(source(), depth=2)
    assert [next(batches), next(batches)] == [0, 1]
    batches.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "register reader"]


def test_a_register_read_in_two_threads_gives_the_batches_of_one_and_stops_both_when_closed(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``read_batches`` parses a CSV register's cells in a thread of its own and types them in the caller's: the same batches as parsing
    them in the caller's thread; closing it part way ends the parsing thread and closes the file."""
    import threading

    register = tmp_path / "reg.csv"
    write_csv(generate(900, seed=5, missing=0.1), str(register))
    threaded = list(columns.read_batches(str(register), policy, rows=100))
    direct = columns._string_batches
    with pytest.MonkeyPatch.context() as patch:  # every cell parsed before the first is typed
        patch.setattr(columns, "_string_batches", lambda *a: iter(list(direct(*a))))
        unthreaded = list(columns.read_batches(str(register), policy, rows=100))
    assert [b.facts for b in threaded] == [b.facts for b in unthreaded] and len(threaded) == 9
    batches = columns.read_batches(str(register), policy, rows=100)
    assert next(batches).rows == 100
    batches.close()
    assert not [t for t in threading.enumerate() if t.name == "register reader" and t.is_alive()]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), listed=st.integers(1, 12), rows=st.sampled_from([7, 32, 100]))
def test_the_high_priority_services_kept_across_batches_are_the_row_paths(policy, tmp_path: Path, monkeypatch, seed: int, listed: int, rows: int) -> None:  # type: ignore[no-untyped-def]
    """Few listed, many batches, spends tied and blank: the columns path skips rows below the bar and still keeps exactly the row path's list."""
    from policy_rules.registers import register

    monkeypatch.setattr(register, "LISTED", listed)
    monkeypatch.setattr(columns, "LISTED", listed)
    services = generate(300, seed=seed, missing=0.1)
    for at, service in enumerate(services):
        if at % 3 == 0:
            service["annual_spend"] = 25_000_000 + 1_000_000 * (at % 2)  # above every generated spend: the listed ones tie
        if at % 11 == 0:
            service["service"] = "Same name"
        if at % 13 == 0:
            service["annual_spend"] = 0
    path = tmp_path / f"ties-{seed}.csv"
    write_csv(services, str(path))
    expected = by_rows(policy, path, tmp_path / "rows.csv")
    writer = columns.ColumnWriter(str(tmp_path / "cols.csv"), policy, AS_OF, "annual_spend")
    found = columns.run_columns(policy, columns.ColumnRegister(str(path), policy, rows), AS_OF, writer=writer, spend_fact="annual_spend").to_dict()
    writer.close()
    assert found["high_priority"] == expected["high_priority"]
    assert found == expected


@settings(deadline=None)
@given(cells=st.lists(st.sampled_from(["yes", "no", "Yes", "NO", "ye", "nos", "n", "", "yés", "né", "oui"]), max_size=30), start=st.integers(0, 5))
def test_a_yes_no_column_is_read_from_its_bytes_only_when_every_cell_is_yes_or_no(cells: list[str], start: int) -> None:
    """The bytes shortcut reads a column (or a slice of one) exactly when every cell is ``yes`` or ``no``, and then as those words."""
    column = pa.array(cells, pa.string()).slice(min(start, len(cells)))
    words = column.to_pylist()
    read = columns._yes_no_bytes(column)
    if words and all(w in ("yes", "no") for w in words):
        assert read is not None and read.to_pylist() == [w == "yes" for w in words]
    else:
        assert read is None


@settings(deadline=None)
@given(cells=st.lists(st.text(alphabet=st.sampled_from(list('ab =+-@\t\r\n,"é\x01;')), max_size=6), max_size=20), start=st.integers(0, 3), quoted=st.booleans())
def test_text_cells_vouched_plain_by_their_bytes_are_those_the_pattern_finds_plain(cells: list[str], start: int, quoted: bool) -> None:
    """The bytes check never calls a cell plain that the CSV writer's pattern would escape."""
    import pyarrow.compute as pc

    column = pa.array(cells, pa.string()).slice(min(start, len(cells)))
    pattern = columns._PLAIN if not quoted else r'^[^,"\n\r]*$'
    every = len(column) > 0 and pc.all(pc.match_substring_regex(column, pattern)).as_py()
    assert columns._plain_bytes(column, quoted) == every


@settings(deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["in_house", "procure", "hybrid"]),
            st.one_of(st.none(), st.integers(-(10**12), 10**12), st.integers(-(10**30), 10**30), st.sampled_from([2**64 + 5, 7 - 2**64, 2**63, -(2**63)])),
            st.one_of(st.none(), st.integers(-(10**6), 10**6)),
        ),
        max_size=40,
    ),
    start=st.integers(0, 3),
)
def test_totals_by_outcome_are_arrows_group_by(rows: list[tuple[str, int | None, int | None]], start: int) -> None:
    """Counts and exact sums by outcome from the amounts' 64-bit words are the rows of Arrow's group_by: nulls, negatives, and amounts
    too large for 64 bits (left to Arrow), in a slice of a column."""
    from decimal import Decimal

    amount = pa.decimal128(38, 2)
    cents = lambda v: None if v is None else Decimal(v).scaleb(-2)  # noqa: E731
    table = pa.table(
        {
            "outcome": pa.array(["procure"] * start + [r[0] for r in rows], pa.string()),
            "spend": pa.array([None] * start + [cents(r[1]) for r in rows], amount),
            "saving": pa.array([None] * start + [cents(r[2]) for r in rows], amount),
        }
    ).slice(start)
    expected = table.group_by("outcome").aggregate([("outcome", "count"), ("spend", "sum"), ("saving", "sum"), ("saving", "count")]).to_pylist()
    assert columns._by_outcome(table, ["saving"]) == expected
