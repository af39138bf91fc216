"""`policy-rules plan` as a user runs it: outputs written whole, bad arguments reported with exit status 2, help with examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.cli_helpers import run_cli
from tests.support.plan_policy import RULES, service


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "plan.rules"
    rules.write_text(RULES, encoding="utf-8")
    register = tmp_path / "register.yaml"
    register.write_text(yaml.safe_dump({"as_of": "2027-01-01", "services": [service("Parks", ends="2027-05-02"), service("Bought", keep_out=True)]}))
    return rules, register


FACTS = ["--fact", "contract_end=ends", "--fact", "staff=heads", "--fact", "annual_spend=spend", "--fact", "in_house_cost=cost"]


def test_cli_plans_as_json(files: tuple[Path, Path]) -> None:
    rules, register = files
    done = run_cli("plan", str(rules), str(register), "--start", "2027-01", "--quarters", "4", "--staff-per-quarter", "5", "--format", "json", *FACTS)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["optimal"] is True
    assert [(s["service"], s["quarter"]) for s in data["services"]] == [("Parks", "2027-Q2"), ("Bought", None)]
    assert [q["quarter"] for q in data["quarters"]] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]


def test_cli_writes_the_plan_and_never_over_an_input(files: tuple[Path, Path], tmp_path: Path) -> None:
    rules, register = files
    out = tmp_path / "plan.html"
    done = run_cli("plan", str(rules), str(register), "--format", "html", "--output", str(out), *FACTS)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    before = register.read_bytes()
    refused = run_cli("plan", str(rules), str(register), "--output", str(register), *FACTS)
    assert refused.returncode == 2
    assert "writing there would destroy it" in refused.stderr
    assert register.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "April"], "is not a month"),
        (["--budget-per-year", "lots"], "not an amount of money"),
        (["--fact", "headcount"], "is not ROLE=NAME"),
        (["--quarters", "0"], "give 1 to 400 quarters"),
    ],
)
def test_cli_bad_arguments_exit_2_without_a_traceback(files: tuple[Path, Path], args: list[str], message: str) -> None:
    rules, register = files
    done = run_cli("plan", str(rules), str(register), *FACTS, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_names_the_fact_a_policy_lacks(files: tuple[Path, Path]) -> None:
    rules, register = files
    done = run_cli("plan", str(rules), str(register))
    assert done.returncode == 2
    assert "the policy declares no fact `contract_end_date`" in done.stderr


def test_cli_help_shows_examples_and_the_command_is_listed() -> None:
    shown = run_cli("plan", "--help")
    assert shown.returncode == 0
    assert "examples:\n  policy-rules plan rules/haringey examples/insourcing-register.csv" in shown.stdout
    assert "--staff-per-quarter N" in shown.stdout and "--budget-per-year MONEY" in shown.stdout
    listed = run_cli("--help")
    assert "plan the insourcing programme" in listed.stdout
