"""Renderers: the decision reports an officer or a councillor reads."""

from __future__ import annotations

import pytest

from policy_rules import load_policy
from policy_rules.renderers.reports import html_report, markdown_report, summary_text
from tests.engine.test_evaluator import HARINGEY

AS_OF = "2024-04-01"
ALL_CLEAR = {
    "service": "Street cleansing",
    "annual_spend": 1_000_000,
    "in_house_annual_cost": 1_100_000,
    "budget_available": 1_200_000,
    **dict.fromkeys(
        [
            "quality_concerns",
            "personal_contact",
            "at_risk_groups",
            "affects_rights",
            "exceptional_worker_demands",
            "build_capacity",
            "safeguarding_concern",
            "delivery_risk",
            "other_provider_better_placed",
            "nhs_expertise",
            "vcs_reach",
            "public_partner_available",
            "local_provider_available",
        ],
        False,
    ),
    "has_capacity": True,
    "has_capability": True,
    "environmentally_sustainable": True,
}


@pytest.fixture(scope="module")
def policy():
    return load_policy(HARINGEY)


def test_report_of_a_decided_service(policy) -> None:
    report = markdown_report(policy.evaluate(ALL_CLEAR, AS_OF))
    lines = report.splitlines()
    assert lines[0] == "# Decision: Street cleansing"
    assert lines[2] == "**Outcome: `in_house`**; priority in the programme: **`standard`**."
    assert lines[4] == f"Decided by rule `insource_by_default` ({HARINGEY}/50-delivery.rules:10)."
    assert "Because the council delivers services in-house by default." in lines
    assert 'Policy: Haringey Council insourcing policy (Appendix 1), section "Principles".' in lines
    assert "## Exceptions that did not apply" in lines
    assert f"- `partner_with_nhs` ({HARINGEY}/40-partnerships.rules:12): `nhs_expertise` is not so" in lines
    assert "| `budget_available` | £1,200,000 |" in lines
    assert "## Questions to answer next" not in lines
    assert lines[-1].startswith("*Haringey insourcing policy, version 2019-07, `sha256:")
    assert lines[-1].endswith(f"as at {AS_OF}.*")


def test_report_of_a_hybrid_service(policy) -> None:
    facts = {
        **ALL_CLEAR,
        "service": "Facilities management",
        "quality_concerns": True,
        "elements": [{"name": "Cleaning", "specialist": False}, {"name": "Lift maintenance", "specialist": True}],
    }
    report = markdown_report(policy.evaluate(facts, AS_OF))
    lines = report.splitlines()
    assert lines[2] == "**Outcome: `hybrid`**; priority in the programme: **`high`**."
    assert "## Reasons to prioritise" in lines
    assert "- `quality_concerns`" in lines
    assert lines[lines.index("## Parts of the service") + 1 :][:4] == [
        "| part | delivery |",
        "|---|---|",
        "| Cleaning | `in_house` |",
        "| Lift maintenance | `external` |",
    ]


def test_report_of_an_undetermined_service_asks_the_questions(policy) -> None:
    facts = dict(ALL_CLEAR)
    del facts["safeguarding_concern"]
    report = markdown_report(policy.evaluate(facts, AS_OF))
    lines = report.splitlines()
    assert lines[2] == "**Outcome: `undetermined`**; priority in the programme: **`undetermined`**."
    questions = lines[lines.index("## Questions to answer next") + 1]
    assert questions == "1. Would in-house delivery raise a safeguarding concern? (`safeguarding_concern`)"
    assert "Decided by" not in report


def test_html_escapes_what_the_facts_say(policy) -> None:
    page = html_report(policy.evaluate({**ALL_CLEAR, "service": "<script>alert(1)</script>"}, AS_OF))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_plain_summary_for_a_missing_fact(policy) -> None:
    facts = dict(ALL_CLEAR)
    del facts["safeguarding_concern"]
    text = summary_text(policy.evaluate(facts, AS_OF))
    assert text.splitlines()[:5] == [
        "Service: Street cleansing",
        "  Outcome: undetermined",
        "  Priority: undetermined",
        "  Needed facts:",
        "    safeguarding_concern: Would in-house delivery raise a safeguarding concern?",
    ]
