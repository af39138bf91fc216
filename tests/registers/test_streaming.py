"""Registers decided as they are read: every format in order, errors found late, flat memory, several processes.

Through the real command line where it matters: the decisions file on disk,
the exit status and the exact message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.haringey_services import generate, write_csv
from policy_rules.errors import FactsError
from policy_rules.registers.columns import BATCH_ROWS
from policy_rules.registers.facts import READ_CHUNK, FactsStream, read_facts_file
from tests.support.cli_helpers import HARINGEY, ROOT, run_cli

AS_OF = "2024-04-01"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture(scope="module")
def services() -> list[dict]:
    return generate(300, seed=5, missing=0.02)


@pytest.fixture(scope="module")
def expected(services: list[dict], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The decisions file from a YAML register, read whole as before streaming existed."""
    folder = tmp_path_factory.mktemp("whole")
    (folder / "reg.yaml").write_text(json.dumps({"services": services}), encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.yaml", "--output", "d.jsonl", "--as-of", AS_OF, cwd=folder)
    assert result.returncode == 0, result.stderr
    return (folder / "d.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["json", "jsonl", "csv"])
def test_each_streamed_format_gives_the_same_decisions_in_order(services: list[dict], expected: str, tmp_path: Path, kind: str) -> None:
    register = tmp_path / f"reg.{kind}"
    if kind == "json":
        register.write_text(json.dumps(services, indent=1), encoding="utf-8")
    elif kind == "jsonl":
        register.write_text("".join(json.dumps(s) + "\n" for s in services), encoding="utf-8")
    else:
        write_csv(services, str(register))
    result = run_cli("evaluate", str(HARINGEY), register.name, "--output", "d.jsonl", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d.jsonl").read_text(encoding="utf-8") == expected
    assert result.stdout.splitlines()[0] == f"300 of 300 services decided with Haringey insourcing policy 2019-07 as at {AS_OF}"


def test_a_bad_csv_line_after_decided_rows_stops_the_run_and_leaves_the_old_output(tmp_path: Path) -> None:
    rows = "".join(f"S{i},{1000 + i},yes\n" for i in range(5000))
    (tmp_path / "reg.csv").write_text(f"service,annual_spend,nhs_expertise\n{rows}B,2000\nC,3000,no\n", encoding="utf-8")
    old = tmp_path / "d.csv"
    old.write_text("the decisions of last month\n", encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", "d.csv", "--report", "s.md", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "reg.csv: error: line 5002: row 5002 has 2 cells but the header has 3 columns\n"
    assert result.stdout == ""
    assert old.read_text(encoding="utf-8") == "the decisions of last month\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "reg.csv"]


def test_a_bad_json_lines_line_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "reg.jsonl").write_text('{"service": "A"}\n\n{"service": "B"}\n{"service": tru}\n', encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.jsonl", "--output", "d.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "reg.jsonl: error: line 4, column 13: this is not valid JSON (Expecting value)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.jsonl"]


def test_a_json_array_is_streamed_with_an_element_split_across_many_reads(tmp_path: Path) -> None:
    big = {"service": "Big", "note": "x" * (3 * READ_CHUNK + 17), "annual_spend": 123456789}
    rest = [{"service": f"S{i}", "annual_spend": 10**12 + i} for i in range(60_000)]  # about 2.5 MB after it
    path = tmp_path / "reg.json"
    path.write_text(json.dumps([big, *rest]), encoding="utf-8")
    with FactsStream(str(path)) as stream:
        seen = []
        for service in stream:
            seen.append((service.raw["service"], service.raw["annual_spend"], service.index, stream.bytes_read))
    assert seen[:3] == [("Big", 123456789, 0, seen[0][3]), ("S0", 10**12, 1, seen[1][3]), ("S1", 10**12 + 1, 2, seen[2][3])]
    assert [s[:3] for s in seen[-2:]] == [("S59998", 10**12 + 59998, 59999), ("S59999", 10**12 + 59999, 60000)]
    assert seen[0][3] < path.stat().st_size  # the first service was given before the file was read whole
    assert stream.finished and stream.count == 60_001


@pytest.mark.parametrize(
    "text",
    [
        "[",
        '[{"a":1}',
        '[{"a":1},]',
        '[{"a":1}] x',
        '[{"a":1} {"b":2}]',
        '[{"a":1},',
        "[1 2",
        '[\n{"a": tru}]',
        '  [\n  {"a": 1},\n\n   {"b": [1, 2,, 3]}]',
        '[{"a": 1, "a": 2}]',
        '[{"a": NaN}]',
    ],
)
def test_errors_in_a_streamed_json_array_are_those_of_the_whole_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "reg.json"
    path.write_text(text, encoding="utf-8")
    try:
        json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        expected = f"{path}: error: line {error.lineno}, column {error.colno}: this is not valid JSON ({error.msg})"
    except ValueError as error:
        expected = f"{path}: error: {error}"
    with pytest.raises(FactsError) as raised:
        read_facts_file(str(path))
    assert str(raised.value) == expected


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key `{key}` appears twice in one object")
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a facts file can hold")


def test_a_json_error_after_a_large_prefix_is_placed_at_its_line_and_column(tmp_path: Path) -> None:
    services = [{"service": f"S{i}", "note": "y" * 300} for i in range(6000)]  # about 2 MB: the error is beyond the first reads
    text = json.dumps(services, indent=1)
    text = text[: text.rindex("}")] + ",}]"
    path = tmp_path / "reg.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as whole:
        json.loads(text)
    with pytest.raises(FactsError) as raised:
        read_facts_file(str(path))
    assert str(raised.value) == f"{path}: error: line {whole.value.lineno}, column {whole.value.colno}: this is not valid JSON ({whole.value.msg})"


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sizes")
    small, large = folder / "small.csv", folder / "large.csv"
    write_csv(generate(5_000, seed=3), str(small))
    write_csv(generate(20_000, seed=3), str(large))
    with large.open("a", encoding="utf-8") as f:  # 200,000 rows: the 20,000 ten times
        body = large.read_text(encoding="utf-8").split("\n", 1)[1]
        for _ in range(9):
            f.write(body)
    return small, large


def _peak_kb(*args: str, cwd: Path) -> int:
    measure = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True);"
        " print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "policy_rules.cli", *args], capture_output=True, text=True, cwd=cwd, check=True)
    status, peak = done.stdout.split()
    assert status == "0", done.stderr
    return int(peak)


@pytest.fixture(scope="module")
def tripled(registers: tuple[Path, Path]) -> Path:
    """600,000 rows: the 200,000-row register three times."""
    large = registers[1]
    path = large.with_name("tripled.csv")
    text = large.read_text(encoding="utf-8")
    path.write_text(text + text.split("\n", 1)[1] * 2, encoding="utf-8")
    return path


def test_memory_stays_flat_in_the_number_of_rows(registers: tuple[Path, Path], tripled: Path, tmp_path: Path) -> None:
    # Both registers are many batches long (200,000 rows are 12 of BATCH_ROWS): the allocator's pages reach their steady state within the
    # first, so what is left is what grows with the rows. Read whole, 200,000 rows took about 600 MB more than 5,000 (3 KB a row).
    few = _peak_kb("evaluate", str(HARINGEY), str(registers[1]), "--output", "a.csv", "--as-of", AS_OF, cwd=tmp_path)
    many = _peak_kb("evaluate", str(HARINGEY), str(tripled), "--output", "b.csv", "--as-of", AS_OF, cwd=tmp_path)
    assert many - few < 40_000, (few, many)  # 400,000 more rows: under 100 bytes each
    assert sum(1 for _ in (tmp_path / "b.csv").open(encoding="utf-8")) == 600_001


@pytest.mark.parametrize("kind", ["csv", "json", "jsonl"])
def test_jobs_2_writes_the_same_bytes_as_jobs_1(registers: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    small = registers[0]
    results = {}
    for jobs in ("1", "2"):
        result = run_cli(
            "evaluate", str(HARINGEY), str(small), "--output", f"d{jobs}.{kind}", "--report", f"s{jobs}.md", "--as-of", AS_OF, "--jobs", jobs, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        results[jobs] = result.stdout
    assert (tmp_path / f"d1.{kind}").read_bytes() == (tmp_path / f"d2.{kind}").read_bytes()
    assert (tmp_path / "s1.md").read_bytes() == (tmp_path / "s2.md").read_bytes()
    assert results["1"] == results["2"]
    assert results["1"].splitlines()[0] == f"5,000 of 5,000 services decided with Haringey insourcing policy 2019-07 as at {AS_OF}"


def test_jobs_2_reports_rows_with_wrong_facts_as_one_process_does(tmp_path: Path) -> None:
    rows = "".join(f"S{i},{'lots' if i % 1500 == 7 else 1000 + i},yes\n" for i in range(4500))
    (tmp_path / "reg.csv").write_text(f"service,annual_spend,nhs_expertise\n{rows}", encoding="utf-8")
    outputs = {}
    for jobs in ("1", "2"):
        result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--output", f"d{jobs}.csv", "--as-of", AS_OF, "--jobs", jobs, cwd=tmp_path)
        assert result.returncode == 2
        outputs[jobs] = (result.stdout, result.stderr.replace(f"d{jobs}.csv", "d.csv"))
    assert outputs["1"] == outputs["2"]
    assert outputs["2"][1].splitlines()[0] == (
        "reg.csv: service 'S7': fact 'annual_spend': error: \"lots\" is not money; write an amount such as 1200000 or £1,200,000"
    )
    assert (tmp_path / "d1.csv").read_bytes() == (tmp_path / "d2.csv").read_bytes()


@pytest.mark.parametrize("value", ["two", "-1", ""])
def test_jobs_must_be_a_number_of_processes(value: str, tmp_path: Path) -> None:
    result = run_cli("evaluate", str(HARINGEY), str(ROOT / "examples" / "register.csv"), "--output", "d.csv", "--jobs", value, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"policy-rules: error: argument --jobs: `{value}` is not a number of processes; give a whole number, or auto; see `policy-rules evaluate --help`"
    )


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_with_jobs_stops_its_workers_and_writes_nothing(tripled: Path, tmp_path: Path, number: int) -> None:
    large = tripled  # 600,000 rows: 200,000 are now decided within the second and a half the workers are given to start
    process = subprocess.Popen(
        [sys.executable, "-m", "policy_rules.cli", "evaluate", str(HARINGEY), str(large), "--output", "d.csv", "--jobs", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(1.5)  # the workers are started and deciding
    os.killpg(process.pid, number)  # as a terminal's Ctrl-C does: to the parent and its workers alike
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    done = int(lines[0].split()[2].replace(",", ""))
    assert lines[0] == f"interrupted after {done:,} services; nothing was written to d.csv"
    assert done % BATCH_ROWS == 0 and done < 600_000  # whole batches, each written as it came back
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert _running_in_group(process.pid, within=10) == b""


def _running_in_group(group: int, within: float) -> bytes:
    """The processes left in a process group, given ``within`` seconds to end (multiprocessing's resource tracker ends just after its parent)."""
    deadline = time.monotonic() + within
    while True:
        left = subprocess.run(["pgrep", "-g", str(group)], capture_output=True).stdout
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)
