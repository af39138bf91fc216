"""Registers from spreadsheets: an Excel workbook, a CSV separated by semicolons, and the mistakes a spreadsheet's CSV makes, named once.

A council's register comes from Excel: saved as `.xlsx`, or as CSV with `;`
between cells where the computer's region says so, or with amounts written
`£1,200,000` without quotes. Each must be decided exactly as the same CSV,
or give one error that says what to change.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policy_rules import FactsError
from policy_rules.registers.facts import read_facts_file
from tests.support.cli_helpers import EXAMPLES, HARINGEY, run_cli

openpyxl = pytest.importorskip("openpyxl")

REGISTER = EXAMPLES / "register.csv"
MONEY = ("annual_spend", "in_house_annual_cost", "budget_available")


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(REGISTER.read_text(encoding="utf-8"))))


def _typed(column: str, text: str) -> object:
    """A cell as Excel holds it: amounts as numbers, dates as dates, whole numbers as numbers, the rest as text; empty as nothing."""
    if text == "":
        return None
    if column in MONEY:
        return int(text.replace("£", "").replace(",", ""))
    if column == "contract_end_date":
        return date.fromisoformat(text)
    if column == "staff":
        return int(text)
    return text


def write_xlsx(path: Path, rows: list[dict[str, str]], *, typed: bool = True) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    header = list(rows[0])
    sheet.append(header)
    for row in rows:
        sheet.append([_typed(c, row[c]) if typed else (row[c] or None) for c in header])
    book.create_sheet("Notes").append(["not read: only the first sheet is the register"])
    book.save(path)


def write_semicolons(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\n")
        writer.writerow(list(rows[0]))
        writer.writerows([list(r.values()) for r in rows])


def decided(tmp_path: Path, register: Path, *extra: str) -> tuple[str, bytes, str]:
    out = tmp_path / f"{register.name}.decisions.csv"
    result = run_cli("evaluate", str(HARINGEY), str(register), "--output", str(out), "--as-of", "2024-04-01", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = run_cli("evaluate", str(HARINGEY), str(register), "--format", "json", "--as-of", "2024-04-01", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    return result.stdout, out.read_bytes(), shown.stdout


@pytest.mark.parametrize("kind", ["xlsx", "xlsx of text cells", "semicolons"])
def test_a_spreadsheet_register_is_decided_exactly_like_the_same_csv(kind: str, tmp_path: Path) -> None:
    rows = _rows()
    register = tmp_path / ("register.csv" if kind == "semicolons" else "register.xlsx")
    if kind == "semicolons":
        write_semicolons(register, rows)
        assert ";£1,900,000;" in register.read_text(encoding="utf-8")  # an amount with commas needs no quotes between semicolons
    else:
        write_xlsx(register, rows, typed=kind == "xlsx")
    same = tmp_path / "same.csv"
    same.write_bytes(REGISTER.read_bytes())
    assert decided(tmp_path, register) == decided(tmp_path, same)


def test_an_xlsx_cell_formatted_as_a_percentage_is_that_percentage(tmp_path: Path) -> None:
    from policy_rules.api import policy_from_sources

    policy = policy_from_sources(
        {"p.rules": 'policy "P"\n  outcome d\nfact rate is percentage\nfact start is date\ndecision d\n  outcomes a\nrule r\n  by default d is a\n'}, "P"
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["rate", "start"])
    sheet.append([0.055, date(2024, 3, 31)])
    sheet["A2"].number_format = "0.0%"
    book.save(tmp_path / "r.xlsx")
    (service,) = read_facts_file(str(tmp_path / "r.xlsx")).services
    assert policy.facts_of(service.raw)[0] == {"rate": Decimal("0.055"), "start": date(2024, 3, 31)}


def test_a_file_named_xlsx_that_is_not_a_workbook_says_so(tmp_path: Path) -> None:
    (tmp_path / "r.xlsx").write_text("service,urgent\nA,yes\n", encoding="utf-8")
    with pytest.raises(FactsError) as caught:
        read_facts_file(str(tmp_path / "r.xlsx"))
    assert caught.value.message == "this is not an Excel workbook (.xlsx); save the register from Excel as .xlsx, or as CSV with a .csv name"


@pytest.mark.parametrize("output", [False, True])
def test_a_misspelt_header_is_one_error_naming_the_column_and_the_fact_meant(output: bool, tmp_path: Path) -> None:
    text = REGISTER.read_text(encoding="utf-8").replace("annual_spend,", "anual_spend,", 1)
    (tmp_path / "reg.csv").write_text(text, encoding="utf-8")
    args = ["--output", "d.csv"] if output else []
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--as-of", "2024-04-01", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "reg.csv: error: the column `anual_spend` in the header row is not a fact of this policy; did you mean `annual_spend`?\n"


def test_an_xlsx_header_is_checked_as_a_csv_header_is(tmp_path: Path) -> None:
    rows = [{("budget_availble" if k == "budget_available" else k): v for k, v in r.items()} for r in _rows()]
    write_xlsx(tmp_path / "reg.xlsx", rows)
    result = run_cli("evaluate", str(HARINGEY), "reg.xlsx", "--as-of", "2024-04-01", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "reg.xlsx: error: the column `budget_availble` in the header row is not a fact of this policy; did you mean `budget_available`?\n",
    )


def test_an_unquoted_amount_with_commas_says_how_to_quote_it(tmp_path: Path) -> None:
    (tmp_path / "reg.csv").write_text("service,annual_spend,staff\nParks,12,3\nLibraries,£1,200,000,40\n", encoding="utf-8")
    result = run_cli("evaluate", str(HARINGEY), "reg.csv", "--as-of", "2024-04-01", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "reg.csv: error: line 3: row 3 has 5 cells but the header has 3 columns: the commas of `£1,200,000` split it into cells;"
        ' write it in double quotes ("£1,200,000") or without commas (£1200000)\n'
    )
