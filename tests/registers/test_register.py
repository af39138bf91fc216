"""Whole-register runs: the decisions file, and a summary whose figures match it."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from decimal import Decimal

import pytest

from benchmarks.haringey_services import generate, write_csv
from tests.support.cli_helpers import HARINGEY, run_cli

AS_OF = "2024-04-01"


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    folder = tmp_path_factory.mktemp("register")
    path = folder / "register.csv"
    write_csv(generate(600, seed=7, missing=0.03), str(path))
    out = folder / "decisions.csv"
    report = folder / "summary.md"
    result = run_cli("evaluate", str(HARINGEY), str(path), "--output", str(out), "--report", str(report), "--as-of", AS_OF, cwd=folder)
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return result, rows, report.read_text(encoding="utf-8")


def _expected(rows):
    services = Counter(r["outcome"] for r in rows)
    spend: dict[str, Decimal] = {}
    for r in rows:
        spend[r["outcome"]] = spend.get(r["outcome"], Decimal(0)) + Decimal(r["annual_spend"] or 0)
    return services, spend


def test_every_service_is_decided_and_written(register) -> None:
    result, rows, _ = register
    assert len(rows) == 600
    assert result.stdout.splitlines()[0] == f"600 of 600 services decided with Haringey insourcing policy 2019-07 as at {AS_OF}"
    assert {r["as_of"] for r in rows} == {AS_OF}
    assert len({r["policy_digest"] for r in rows}) == 1
    assert any(r["outcome"] == "undetermined" for r in rows)
    assert any(r["outcome"] == "hybrid" and "external" in r["elements"] for r in rows)


def test_summary_counts_and_spend_per_outcome_match_the_decisions(register) -> None:
    result, rows, _ = register
    services, spend = _expected(rows)
    table = {}
    for line in result.stdout.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+([\d,]+)\s+£([\d,]+)\s+([\d.]+%|-)$", line)
        if match:
            table[match[1]] = (int(match[2].replace(",", "")), Decimal(match[3].replace(",", "")))
    assert table == {o: (services[o], spend[o]) for o in services}
    total = re.search(r"^total\s+([\d,]+)\s+£([\d,]+)$", result.stdout, re.M)
    assert total is not None
    assert (int(total[1].replace(",", "")), Decimal(total[2].replace(",", ""))) == (600, sum(spend.values()))


def test_summary_lists_high_priority_and_the_most_needed_facts(register) -> None:
    result, rows, report = register
    high = [r for r in rows if r["priority"] == "high"]
    assert f"High-priority services ({len(high):,}):" in result.stdout
    needing = [r for r in rows if r["needed_facts"]]
    counts = Counter(re.sub(r"\[\d+\]", "[]", f) for r in needing for f in r["needed_facts"].split(";"))
    assert f"Services not yet settled ({len(needing):,}); facts needed, most common first:" in result.stdout
    ranked = sorted(counts.items(), key=lambda fc: (-fc[1], fc[0]))
    listed = re.findall(r"^  (\S+): ([\d,]+) services?$", result.stdout, re.M)
    assert [(f, int(c.replace(",", ""))) for f, c in listed] == ranked[: len(listed)]
    assert listed
    for fact, count in ranked:
        assert f"| `{fact}` | {count:,} |" in report


def test_markdown_report_has_the_same_figures_and_a_chart(register) -> None:
    _, rows, report = register
    services, spend = _expected(rows)
    for outcome in services:
        assert re.search(rf"^\| `{outcome}` \| {services[outcome]:,} \| £{int(spend[outcome]):,} \| [\d.]+% \| █+ \|$", report, re.M), outcome
    assert "```mermaid\npie title Annual spend by outcome" in report
    assert report.rstrip().endswith("`.*")


def test_jsonl_output_and_html_report(tmp_path) -> None:
    path = tmp_path / "register.yaml"
    services = generate(40, seed=3)
    path.write_text(json.dumps({"services": services}), encoding="utf-8")
    out, report = tmp_path / "d.jsonl", tmp_path / "s.html"
    result = run_cli("evaluate", str(HARINGEY), str(path), "--output", str(out), "--report", str(report), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    first = json.loads(lines[0])
    assert first["service"] == services[0]["service"]
    assert "trace" not in first
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page


def test_a_row_with_wrong_facts_is_reported_written_as_an_error_row_and_the_rest_decided(tmp_path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("service,annual_spend,nhs_expertise\nA,1000,yes\nB,lots,no\nC,2000,yes\n", encoding="utf-8")
    out = tmp_path / "d.csv"
    result = run_cli("evaluate", str(HARINGEY), str(path), "--output", str(out))
    assert result.returncode == 2
    assert f"{path}: service 'B': fact 'annual_spend': error: \"lots\" is not money; write an amount such as 1200000 or £1,200,000" in result.stderr
    assert "Traceback" not in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["service"], r["status"]) for r in rows] == [("A", "decided"), ("B", "error"), ("C", "decided")]
    assert rows[1]["message"] == f"{path}: service 'B': fact 'annual_spend': error: \"lots\" is not money; write an amount such as 1200000 or £1,200,000"
    assert rows[1]["outcome"] == rows[1]["policy_digest"] == ""
    assert [r["message"] for r in (rows[0], rows[2])] == ["", ""]
    assert result.stdout.splitlines()[:2] == [
        f"2 of 3 services decided with Haringey insourcing policy 2019-07 as at {result.stdout.split(' as at ')[1].splitlines()[0]}",
        "1 service could not be decided: 1 with wrong facts (see the messages above; each has a row with status `error` in the decisions file)",
    ]
