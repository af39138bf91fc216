"""The example facts files in ``examples/`` give the decisions written here.

Each file is decided by the command officers use,
``policy-rules evaluate rules/haringey FILE --format json``, and every
service's outcome, priority, reasons, element outcomes and needed facts are
checked exactly. A new example file needs its expected decisions added below.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RULES = ROOT / "rules" / "haringey"
AS_OF = "2020-01-01"

NONE: tuple[str, ...] = ()


def decided(
    outcome: str, priority: str, reasons: tuple[str, ...] = NONE, elements: dict[str, str] | None = None, needed: tuple[str, ...] = NONE
) -> dict[str, Any]:
    return {"outcome": outcome, "priority": priority, "reasons": list(reasons), "elements": elements or {}, "needed_facts": list(needed)}


EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    "facilities-management.yaml": {
        "Facilities management": decided(
            "hybrid",
            "high",
            ("quality_concerns", "value_for_money_gain", "build_capacity"),
            {"Cleaning": "in_house", "Security and reception": "in_house", "Lift maintenance and repair": "external"},
        ),
    },
    "home-to-school-travel-escorts.yaml": {
        "Home-to-school travel escorts": decided("in_house_phased", "high", ("personal_contact", "at_risk_groups", "affects_rights", "value_for_money_gain")),
    },
    "highways-maintenance.yaml": {
        "Highways maintenance": decided(
            "hybrid",
            "high",
            ("build_capacity",),
            {
                "Pothole and pavement repairs": "in_house_phased",
                "Gully cleaning": "in_house_phased",
                "Winter gritting": "in_house_phased",
                "Machine resurfacing with specialist plant": "external",
                "Bridge and structure inspections": "external",
            },
        ),
    },
    "sexual-health-clinic.yaml": {
        "Sexual health clinic": decided("partnership_nhs", "not_applicable", ("personal_contact", "at_risk_groups")),
    },
    "community-advice.yaml": {
        "Community advice": decided("partnership_vcs", "not_applicable", ("personal_contact", "at_risk_groups", "affects_rights")),
    },
    "missing-facts.yaml": {
        "Parking enforcement": decided(
            "undetermined",
            "undetermined",
            ("quality_concerns", "personal_contact", "exceptional_worker_demands", "value_for_money_gain"),
            {
                "Civil enforcement officers": "undetermined",
                "Penalty notices and appeals": "undetermined",
                "Pay-and-display machine maintenance": "undetermined",
            },
            ("budget_available", "other_provider_better_placed", "elements[2].specialist"),
        ),
    },
    "register.csv": {
        "Parks grounds maintenance": decided("in_house", "standard"),
        "Household waste collection": decided("in_house_phased", "high", ("exceptional_worker_demands", "value_for_money_gain")),
        "Pest control": decided("procure", "not_applicable"),
        "Leisure centre management": decided("procure_local", "not_applicable"),
        "Out-of-hours noise service": decided("partnership_public", "not_applicable"),
        "Youth outreach": decided("partnership_vcs", "not_applicable", ("personal_contact", "at_risk_groups")),
        "Stop smoking service": decided("partnership_nhs", "not_applicable", ("personal_contact",)),
        "Council housing block repairs": decided(
            "hybrid",
            "high",
            ("quality_concerns", "value_for_money_gain"),
            {"Responsive repairs": "in_house", "Voids and re-lets": "in_house", "Lift maintenance": "external"},
        ),
        "Supported lodgings for care leavers": decided(
            "undetermined", "undetermined", ("personal_contact", "at_risk_groups", "affects_rights"), needed=("safeguarding_concern",)
        ),
    },
}


def command() -> list[str]:
    """The ``policy-rules`` command of the Python running the tests."""
    beside = Path(sys.executable).with_name("policy-rules")
    found = str(beside) if beside.exists() else shutil.which("policy-rules")
    assert found, "the policy-rules command is not installed; install the project with pip install -e ."
    return [found]


@cache
def decisions_of(name: str) -> dict[str, dict[str, Any]]:
    """Every service's JSON decision for one examples file, by service name."""
    done = subprocess.run(
        [*command(), "evaluate", str(RULES), str(EXAMPLES / name), "--format", "json", "--as-of", AS_OF],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"policy-rules evaluate failed on {name} (exit status {done.returncode}):\n{done.stderr}"
    data = json.loads(done.stdout)
    return {d["service"]: d for d in (data if isinstance(data, list) else [data])}


def test_every_example_file_has_expected_decisions() -> None:
    files = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json", ".csv"))
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_file_holds_the_expected_services(name: str) -> None:
    assert list(decisions_of(name)) == list(EXPECTED[name])


@pytest.mark.parametrize(("name", "service"), [(name, service) for name, services in EXPECTED.items() for service in services])
def test_example_decision(name: str, service: str) -> None:
    decision = decisions_of(name)[service]
    actual = {
        "outcome": decision["outcome"],
        "priority": decision["priority"],
        "reasons": decision["reasons"],
        "elements": {e["name"]: e["outcome"] for e in decision["elements"]},
        "needed_facts": decision["needed_facts"],
    }
    assert actual == EXPECTED[name][service]
    assert decision["trace"], "every decision carries its explanation"
