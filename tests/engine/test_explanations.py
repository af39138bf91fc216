"""Explanations in words: a first-of table as one list, and an outcome settled whatever the missing facts are."""

from __future__ import annotations

from datetime import date

from policy_rules.api import policy_from_sources
from policy_rules.renderers.reports import explain_text, markdown_report, summary_text

AS_OF = date(2025, 1, 1)

SETTLED = """\
policy "Settled"
  outcome d

fact a is yes/no
fact b is yes/no

decision d
  outcomes x, y

rule base
  by default d is x

rule when_a
  exception to base
  when a and b
  then d is y

rule when_not_a
  exception to base
  when not a and b
  then d is y
"""


def test_an_outcome_every_completion_gives_names_the_rules_that_give_it() -> None:
    decision = policy_from_sources({"s.rules": SETTLED}, "s").evaluate({"b": True}, AS_OF)
    assert (decision.outcome, decision.decided_by, decision.needed_facts) == ("y", None, ())
    words = "settled whatever the missing facts are: each possible value leads to a rule that gives it: when_a, when_not_a"
    assert summary_text(decision).splitlines()[1] == f"  Outcome: y ({words})"
    assert f"Decision d: y, {words}" in explain_text(decision)
    report = markdown_report(decision)
    assert "a rule that gives this outcome: `when_a` (s.rules:13), `when_not_a` (s.rules:18)." in report
    assert "did not apply" not in report  # the rules that give the outcome are not listed as failing


def test_a_decision_made_by_one_rule_says_nothing_of_completions() -> None:
    decision = policy_from_sources({"s.rules": SETTLED}, "s").evaluate({"a": True, "b": True}, AS_OF)
    assert decision.decided_by == "when_a"
    assert "settled whatever" not in explain_text(decision)


TABLE = """\
policy "Routes"
  outcome route

fact resident is yes/no
fact care_leaver is yes/no

decision route
  outcomes refused, fast_track, standard

table routes for route, first that applies
  row refuse_when_not_resident
    when not resident
    then refused
  row fast_track_for_care_leavers
    when care_leaver
    then fast_track
  otherwise standard_route
    then standard

rule review_care_leavers
  exception to fast_track_for_care_leavers
  when care_leaver and not resident
  then route is standard
"""


def test_a_table_is_explained_as_one_list_of_rows_in_the_order_they_are_tried() -> None:
    decision = policy_from_sources({"t.rules": TABLE}, "t").evaluate({"resident": True, "care_leaver": True}, AS_OF)
    lines = explain_text(decision).splitlines()
    start = lines.index("Decision route: fast_track, decided by rule fast_track_for_care_leavers")
    shown = [line.split("   (")[0] for line in lines[start + 1 :] if line.lstrip().startswith("- ")]
    assert shown == [
        "  - table routes, first that applies:",
        "    - [does not apply] row 1 refuse_when_not_resident would give refused",
        "    - [DECIDES] row 2 fast_track_for_care_leavers gives fast_track",
        "      - [does not apply] exception rule review_care_leavers would give standard",
        "    - [overridden; fast_track_for_care_leavers decides] otherwise standard_route would give standard",
    ]
    rules = next(event.rule for event in decision.trace if getattr(event, "rule", None) is not None)
    assert {r.label: r.table for r in rules.walk()} == {
        "standard_route": "routes",
        "fast_track_for_care_leavers": "routes",
        "refuse_when_not_resident": "routes",
        "review_care_leavers": None,
    }
    assert rules.to_dict()["table"] == "routes"
    review = next(r for r in rules.walk() if r.label == "review_care_leavers")
    assert "table" not in review.to_dict()  # a rule of its own: the JSON of policies without tables is unchanged


def test_a_decision_explains_itself_in_the_words_of_the_command_line() -> None:
    decision = policy_from_sources({"s.rules": SETTLED}, "s").evaluate({"a": True, "b": True}, AS_OF)
    text = decision.explain()
    assert text == explain_text(decision)
    assert "Decision d: y, decided by rule when_a" in text
    assert "Facts given (as at 2025-01-01):" in text
