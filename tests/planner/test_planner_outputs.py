"""The plan as shown: text, CSV, JSON and HTML, escaped for each medium."""

from __future__ import annotations

import csv
import io
import json

import pytest

from policy_rules.planner import report as render
from policy_rules.planner.plan import Plan, plan
from tests.support.plan_policy import NAMES, plan_policy, service

# The planner and its page are the optional extra `plan` (which the `test` extra includes).
for _module in ("ortools", "matplotlib", "jinja2"):
    pytest.importorskip(_module)

HOSTILE = ['=HYPERLINK("http://x")', "<script>alert(1)</script>", "\x1b[2Jcleared", "$x^2$ maths"]


@pytest.fixture(scope="module")
def hostile_plan() -> Plan:
    rows = [service(HOSTILE[0], urgent=True), service(HOSTILE[1], skills=False), service(HOSTILE[2], heads=3), service(HOSTILE[3], keep_out=True)]
    return plan(plan_policy(), rows, start="2027-01", quarters=4, staff_per_quarter=3, as_of="2027-01-01", names=NAMES, workers=1)


def test_csv_has_a_row_per_service_and_defuses_formulas(hostile_plan: Plan) -> None:
    rows = list(csv.DictReader(io.StringIO(render.to_csv(hostile_plan))))
    assert [r["service"] for r in rows] == ["'" + HOSTILE[0], *HOSTILE[1:]]
    assert tuple(rows[0]) == render.CSV_COLUMNS
    assert (rows[0]["quarter"], rows[0]["priority"], rows[1]["waits_for"], rows[1]["preparation_from"]) == ("2027-Q1", "high", "preparation", "2027-Q1")
    assert (rows[3]["quarter"], rows[3]["waits_for"]) == ("", "not_in_house")


def test_json_is_the_plan_and_escapes_controls(hostile_plan: Plan) -> None:
    text = render.to_json(hostile_plan)
    assert "\x1b" not in text
    assert json.loads(text) == hostile_plan.to_dict()


def test_text_shows_controls_as_escapes(hostile_plan: Plan) -> None:
    text = render.to_text(hostile_plan)
    assert "\x1b" not in text and "\\x1b[2Jcleared" in text
    assert "Insourcing programme 2027-Q1 to 2027-Q4: optimal" in text
    assert (
        "2027-Q2: 1 service, 3 of 3 staff, £0 added a year (year 1: £0)\n"
        "  \\x1b[2Jcleared [standard, in_house]: staff capacity full for its 3 staff in 2027-Q1 (1 of 3 staff taken)" in text
    )


def test_html_is_self_contained_and_escapes_names(hostile_plan: Plan) -> None:
    page = render.to_html(hostile_plan)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    assert page.count("<svg") == 2
    assert "src=" not in page and "<link" not in page and "@import" not in page
    assert "Gantt chart of the programme" in page
    assert "$x^2$ maths" in page  # shown as written, not as mathematics


def test_gantt_lists_only_so_many_services() -> None:
    rows = [service(f"S{i}") for i in range(5)]
    made = plan(plan_policy(), rows, start="2027-01", quarters=2, as_of="2027-01-01", names=NAMES, workers=1)
    svg = render.gantt_svg(made, limit=3)
    assert all(f">S{i}<" in svg for i in range(3)) and ">S4<" not in svg


def test_the_gantt_chart_draws_every_contract_extension_the_text_lists() -> None:
    rows = [
        service("Ended long ago", ends="2026-03-01", heads=2),  # moves in the first quarter: its extension lies before the programme
        service("Ended last quarter", ends="2026-12-01", heads=2),
        service("Waits a quarter", ends="2027-01-15", heads=2),  # the staff of one quarter go to the others first
        service("Too big", ends="2026-06-01", heads=9),  # never scheduled: its contract runs past the programme
    ]
    made = plan(plan_policy(), rows, start="2027-01", quarters=3, staff_per_quarter=4, as_of="2027-01-01", names=NAMES, workers=1)
    text = render.to_text(made)
    listed = text.count("; extend ")
    assert listed == len(made.extensions) >= 3
    svg = render.gantt_svg(made)
    assert svg.count('id="extension-') == listed
    assert ">Too big (not scheduled)<" in svg
