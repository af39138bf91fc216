"""Amounts for each item of a list (`decision part_cost for each part in elements is money`, read as `part.part_cost`) and
the greater/smaller of a bracketed list, in every mode, with exact needed facts."""

from __future__ import annotations

import itertools
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules.errors import ConflictError
from policy_rules.language.format import format_text
from policy_rules.language.loader import parse_file
from tests.engine.test_amounts import AS_OF, _errors, _every_mode, _policy

PARTS = """
policy "parts"
  service name service
  outcome grant
  results grant, works, top, cheapest

record part
  field name is text
  field cost is money
  field eligible is yes/no
  field vat is yes/no

fact service is text
fact elements is list of part
fact cap is money

decision part_cost for each part in elements is money
rule at_price
  by default part_cost is part.cost
rule with_vat
  exception to at_price
  when part.vat
  then part_cost is part.cost * 120%
rule free_part
  exception to at_price
  when part.cost = £0
  then part_cost is £0

define works as total of part.part_cost for each part in elements where (part.eligible)
define top as the greater of [works, cap, £100]
define cheapest as the smaller of [cap, £30,000, works + £1]

decision grant is money
rule grant_paid
  by default grant is the smaller of [works, cap, £30,000]
"""

FULL = {
    "service": "s",
    "cap": 5000,
    "elements": [
        {"name": "ramp", "cost": 1000, "eligible": True, "vat": True},
        {"name": "lift", "cost": 3000, "eligible": True, "vat": False},
        {"name": "paint", "cost": 500, "eligible": False, "vat": False},
    ],
}


def _body(text: str) -> Any:
    tree, problems = parse_file("p.rules", text)
    assert tree is not None and not problems
    return tree.declarations[0].body  # type: ignore[union-attr]


def test_the_bracketed_list_parses_as_one_form_of_the_greater_and_the_smaller() -> None:
    listed = _body("define a as the greater of [x, y, £3]\n")
    assert (listed.which, listed.listed, len(listed.operands)) == ("greater", True, 3)
    two = _body("define a as the smaller of x and y\n")
    assert (two.which, two.listed, len(two.operands)) == ("smaller", False, 2)


def test_fmt_keeps_the_bracketed_list_and_its_meaning() -> None:
    text = "fact a is money\nfact b is money\ndefine c as the greater of [ a,b , £3 ]\n"
    assert format_text(text, "p.rules") == "fact a is money\nfact b is money\n\ndefine c as the greater of [a, b, £3]\n"


def test_each_item_has_its_value_and_the_totals_read_them_in_every_mode(tmp_path: Path) -> None:
    policy = _policy(tmp_path, PARTS)
    decision = _every_mode(policy, FULL)
    assert decision["results"] == {"grant": "4200.00", "works": "4200.00", "top": "5000.00", "cheapest": "4201.00"}
    assert policy.decide_fast(FULL, AS_OF) is not None  # every fact known: the generated code decides alone
    made = [e for e in decision["trace"] if e["type"] == "decision" and e["decision"] == "part_cost"]
    # each item is decided once, however often it is read; an item the total leaves out is not decided at all
    assert [(e["item"], e["value"], e["decided_by"], e["calculation"]) for e in made] == [
        ("elements[0] (ramp)", "£1,200", "with_vat", "part_cost = part.cost £1,000 * 120% = £1,200"),
        ("elements[1] (lift)", "£3,000", "at_price", "part_cost = part.cost £3,000 = £3,000"),
    ]
    works = next(e for e in decision["trace"] if e["type"] == "defined_value" and e["name"] == "works")
    reads = {r["name"]: r["shown"] for r in works["condition"]["reads"] if r["kind"] == "decision"}
    assert reads == {"elements[0].part_cost": "£1,200", "elements[1].part_cost": "£3,000"}
    top = next(e for e in decision["trace"] if e["type"] == "defined_value" and e["name"] == "top")
    assert top["calculation"] == "top = the greater of [works £4,200, cap £5,000, £100] = £5,000"


def test_an_items_rules_agree_on_one_value_and_conflict_naming_both_rules_and_the_item(tmp_path: Path) -> None:
    policy = _policy(tmp_path, PARTS)
    free = {**FULL, "elements": [{"name": "gift", "cost": 0, "eligible": True, "vat": True}]}
    decision = _every_mode(policy, free)  # £0 * 120% and £0 agree: two grounds, one value
    assert decision["results"]["works"] == "0.00"
    made = next(e for e in decision["trace"] if e["type"] == "decision" and e["decision"] == "part_cost")
    assert made["decided_by"] == "with_vat"
    assert [x["status"] for x in made["rules"]["exceptions"]] == ["decided", "decided"]
    conflicting = PARTS.replace("when part.cost = £0\n  then part_cost is £0", "when part.cost > £500\n  then part_cost is £1")
    policy = _policy(tmp_path, conflicting, "conflict.rules")
    with pytest.raises(ConflictError) as raised:
        policy.evaluate(FULL, AS_OF)
    message = str(raised.value)
    assert "with_vat" in message and "free_part" in message and "elements[0]" in message
    rules = policy.model.rules
    assert f"rule with_vat ({rules['with_vat'].span})" in message and f"rule free_part ({rules['free_part'].span})" in message


def test_an_unknown_field_leaves_its_items_value_and_the_total_unknown(tmp_path: Path) -> None:
    policy = _policy(tmp_path, PARTS)
    elements = [{"name": "ramp", "cost": 1000, "eligible": True}, {"name": "lift", "eligible": True, "vat": False}, {"name": "shed", "eligible": False}]
    decision = _every_mode(policy, {**FULL, "elements": elements})
    assert decision["outcome"] == "undetermined"
    assert decision["results"] == {"grant": None, "works": None, "top": None, "cheapest": None}
    # the vat of the first part chooses its formula; the shed is left out of the total, so its cost is not needed
    assert decision["needed_facts"] == ["elements[0].vat", "elements[1].cost"]
    settled = _every_mode(policy, {**FULL, "elements": elements[2:]})
    assert (settled["results"]["works"], settled["needed_facts"]) == ("0.00", [])


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            "define w as total of part_cost for each part in elements",
            "`part_cost` is decided for each item of a list, so it has no single value here; read the value for this item as `part.part_cost`",
        ),
        (
            "define w as part_cost",
            "`part_cost` is decided for each item of a list, so it has no single value here; "
            "read it for each item, like `total of part.part_cost for each part in elements`",
        ),
        ("define w as total of p.part_cots for each p in elements", "a part has no field `part_cots`; did you mean `part_cost`?"),
        ("define w as total of p.cost for each p in others where (p.part_cost > £1)", "look at the items of `elements` instead"),
        ("define w as total of p.grant for each p in elements", "`grant` is decided once for the service, not for each item; write `grant` without `p.`"),
        ("define w as any p in elements where (p.part_cost is known)", "but `p.part_cost` is a decision made for each item; use it only on a fact"),
        ("define w as the greater of [cap, 3, £1]", "compares its numbers, amounts of money or dates, but `cap` is money and `3` is a whole number; write"),
    ],
)
def test_the_checker_suggests_how_to_read_a_value_for_each_item(tmp_path: Path, rules: str, expected: str) -> None:
    text = PARTS.replace("  results grant, works, top, cheapest", "  results grant") + "fact others is list of part\n" + rules + "\n"
    errors = _errors(tmp_path, text)
    assert any(expected in e for e in errors), errors


def test_a_result_cannot_be_a_value_for_each_item(tmp_path: Path) -> None:
    errors = _errors(tmp_path, PARTS.replace("results grant, works", "results part_cost, grant, works"))
    assert errors == [
        "decision `part_cost` is made for each item of a list, so it has no one value to report; "
        "report their total instead: `define total_part_cost as total of part.part_cost for each part in elements`"
    ]


def test_analyse_finds_an_items_rules_that_conflict(tmp_path: Path) -> None:
    from policy_rules.analysis.findings import analyse

    conflicting = PARTS.replace("when part.cost = £0\n  then part_cost is £0", "when part.cost > £500\n  then part_cost is £1")
    policy = _policy(tmp_path, conflicting)
    findings = [f for f in analyse(policy) if f.severity == "error"]
    assert findings and all("with_vat" in f.message and "free_part" in f.message for f in findings)


BRUTE = """
policy "brute"
  outcome d
  results total

record part
  field cost is money
  field big is yes/no

fact items is list of part
fact extra is yes/no

decision part_value for each p in items is money
rule plain
  by default part_value is p.cost
rule big_part
  exception to plain
  when p.big
  then part_value is the greater of [p.cost * 2, £5, £1]

define total as total of p.part_value for each p in items where (p.part_value > £2)

decision d
  outcomes low, high
rule low_default
  by default d is low
rule high_when
  exception to low_default
  when extra and any p in items where (p.part_value is at least £8)
  then d is high
"""

COSTS = (Decimal(1), Decimal(6), Decimal(9))
PART = st.fixed_dictionaries({}, optional={"cost": st.sampled_from(COSTS), "big": st.booleans()})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(PART, min_size=0, max_size=2), extra=st.sampled_from((None, True, False)))
def test_needed_facts_are_exact_against_brute_force(tmp_path: Path, items: list[dict[str, Any]], extra: bool | None) -> None:
    """Every completion decided: a fact is needed by the decision when changing it alone changes the outcome, and by the results when
    it changes the total and never the outcome."""
    policy = _policy(tmp_path, BRUTE)
    given_ = {"items": items, **({"extra": extra} if extra is not None else {})}
    missing = [("extra", None)] if extra is None else []
    missing += [(f"items[{i}].{field}", (i, field)) for i, item in enumerate(items) for field in ("cost", "big") if field not in item]
    domains = [(True, False) if name == "extra" or name.endswith(".big") else COSTS for name, _ in missing]
    results = {}
    for values in itertools.product(*domains):
        full = {"items": [dict(item) for item in items], "extra": extra}
        for (_name, where), value in zip(missing, values, strict=True):
            if where is None:
                full["extra"] = value
            else:
                full["items"][where[0]][where[1]] = value
        d = policy.evaluate(full, AS_OF, trace=False)
        results[values] = (d.outcome, d.to_dict()["results"]["total"])

    def changing(part: slice) -> list[str]:
        found = []
        for i, (name, _where) in enumerate(missing):
            others = [domains[j] for j in range(len(missing)) if j != i]
            if any(len({results[(*rest[:i], v, *rest[i:])][part] for v in domains[i]}) > 1 for rest in itertools.product(*others)):
                found.append(name)
        return found

    decision = _every_mode(policy, given_)
    needed = changing(slice(0, 1))
    assert sorted(decision["needed_facts"]) == sorted(needed)
    assert sorted(decision["results_needed"]) == sorted(name for name in changing(slice(0, 2)) if name not in needed)
    totals = {r[1] for r in results.values()}
    assert decision["results"]["total"] == (totals.pop() if len(totals) == 1 else None)


def test_the_policy_text_round_trips_through_fmt(tmp_path: Path) -> None:
    text = textwrap.dedent(PARTS)
    assert parse_file("p.rules", format_text(text, "p.rules"))[0] == parse_file("p.rules", text)[0]
