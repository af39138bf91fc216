"""The checker: one test per check and per language feature, with exact messages and places.

Most tests start from ``PRELUDE``, a clean policy of eight lines, and add the
declarations under test from line 9 on.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from policy_rules.api import analyse, read_sources
from policy_rules.engine.values import Type
from policy_rules.language import nodes as n
from policy_rules.language.checker import CHECKS, PolicyModel, check

ROOT = Path(__file__).resolve().parent.parent

Find = Callable[..., list[str]]

PRELUDE = """\
policy "Test" outcome d
document guide "Guide" sections "Scope", "Money"
fact a is yes/no
fact b is yes/no
fact cost is money
fact budget is money
decision d outcomes x, y, z
rule base by default d is x because "by default" cites guide section "Scope"
"""
HEADER = 'policy "Test" outcome d'


def policy(*lines: str, header: str = HEADER) -> str:
    """The prelude (with ``header`` as its first line), then ``lines`` from line 9 on."""
    return PRELUDE.replace(HEADER, header, 1) + "\n".join(textwrap.dedent(line).strip("\n") for line in lines) + "\n"


def rule(condition: str, conclusion: str = "y", label: str = "e") -> str:
    """An exception to ``base`` on one line."""
    return f'rule {label} exception to base when {condition} then d is {conclusion} because "why" cites guide section "Scope"'


def at(line: int, text: str, fragment: str, nth: int = 1, offset: int = 0) -> str:
    """``policy.rules:LINE:COL`` of the ``nth`` ``fragment`` (plus ``offset``) in ``text``, the text of that line."""
    column = -1
    for _ in range(nth):
        column = text.index(fragment, column + 1)
    return f"policy.rules:{line}:{column + 1 + offset}"


def model_of(text: str) -> PolicyModel:
    model, _diagnostics = analyse({"policy.rules": textwrap.dedent(text)}, "test policy")
    assert model is not None
    return model


# --- the checks themselves -----------------------------------------------------------------


def test_the_checks_run_in_a_fixed_named_order() -> None:
    assert [name for name, _ in CHECKS] == [
        "duplicate-declarations",
        "declared-types",
        "scales",
        "citations",
        "decision-structure",
        "names-and-types",
        "cycles",
        "policy-header",
        "explanations",
        "unused-declarations",
    ]


CLEAN = rule("a and b and cost is above budget")


def test_the_prelude_is_clean(diagnose: Find) -> None:
    assert diagnose(policy(CLEAN)) == []


def test_the_bundled_rule_sets_have_no_findings() -> None:
    for folder in ("rules/haringey", "rules/small-example"):
        model, diagnostics = analyse(read_sources([ROOT / folder]), folder)
        assert model is not None
        assert diagnostics == [], folder


def test_diagnostics_are_collected_not_raised_and_sorted_by_place(diagnose: Find) -> None:
    first, second = rule("a and cots", label="e2"), rule("b and cost", label="e1")
    assert diagnose(policy(first, second, "fact budget is text", CLEAN)) == [
        f"{at(9, first, 'cots')}: error: `cots` is not declared; did you mean `cost`?",
        f"{at(10, second, 'cost')}: error: `and` needs a yes/no condition, but `cost` is money",
        "policy.rules:11:1: error: `budget` is already declared as a fact at policy.rules:6:1; choose another name",
    ]


def test_check_can_be_called_on_built_files_directly() -> None:
    assert model_of(PRELUDE).outcome == "d"
    empty = check([], {}, "nothing")
    assert empty.diagnostics == [] and empty.title == "nothing"


# --- 1. duplicate declarations -------------------------------------------------------------


def test_a_name_declared_twice(errors: Find) -> None:
    assert errors(policy("fact a is money")) == ["policy.rules:9:1: error: `a` is already declared as a fact at policy.rules:3:1; choose another name"]


@pytest.mark.parametrize(
    ("declaration", "first"),
    [
        ("define cost as budget", "a fact at policy.rules:5:1"),
        ("parameter d is money value £1 from 2020-01-01", "a decision at policy.rules:7:1"),
        ("decision b outcomes p", "a fact at policy.rules:4:1"),
    ],
)
def test_facts_defined_values_parameters_and_decisions_share_their_names(errors: Find, declaration: str, first: str) -> None:
    name = declaration.split()[1]
    assert errors(policy(declaration)) == [f"policy.rules:9:1: error: `{name}` is already declared as {first}; choose another name"]


def test_records_and_documents_have_names_of_their_own(errors: Find) -> None:
    assert errors(policy('document guide "Again"')) == [
        "policy.rules:9:1: error: `guide` is already declared as a document at policy.rules:2:1; choose another name"
    ]
    assert errors(policy("record r field f is text", "record r field g is text")) == [
        "policy.rules:10:1: error: `r` is already declared as a record at policy.rules:9:1; choose another name"
    ]


def test_a_rule_label_used_twice(errors: Find) -> None:
    assert errors(policy(rule("a"), rule("b"))) == [
        "policy.rules:10:1: error: the rule label `e` is already used at policy.rules:9:1; every rule needs its own label"
    ]


def test_a_second_policy_header(errors: Find) -> None:
    assert errors(policy('policy "Two"')) == ["policy.rules:9:1: error: a second policy header; the policy is already named at policy.rules:1:1"]


def test_duplicates_across_files_name_the_other_file() -> None:
    _model, diagnostics = analyse({"a.rules": PRELUDE, "b.rules": "fact cost is money\n"}, "t")
    assert [f"{d.span}: {d.message}" for d in diagnostics if d.severity == "error"] == [
        "b.rules:1:1: `cost` is already declared as a fact at a.rules:5:1; choose another name"
    ]


# --- 2. declared types ---------------------------------------------------------------------


def test_a_list_of_an_undeclared_record(errors: Find) -> None:
    assert errors(policy("record element field f is yes/no", "fact parts is list of elements", "fact others is list of thing")) == [
        "policy.rules:10:15: error: there is no record called `elements`; did you mean `element`?",
        "policy.rules:11:16: error: there is no record called `thing`; declare it with `record thing` and its fields",
    ]


def test_a_value_listed_twice_in_a_type(errors: Find) -> None:
    assert errors(policy("fact k is one of p, q, p")) == ["policy.rules:9:11: error: the value `p` is listed twice"]


def test_record_fields(errors: Find) -> None:
    line = "record r field f is text field f is yes/no field g is list of r"
    assert errors(policy(line)) == [
        f"{at(9, line, 'field f', 2)}: error: the field `f` is declared twice in record `r`",
        f"{at(9, line, 'list of r')}: error: a field cannot itself be a list; lists of records may not be nested",
    ]


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        ("fact f is yes/no default 5", "the default `5` is not yes/no, the type of fact `f`"),
        ("fact f is whole number default 3.5", "the default `3.5` is not a whole number, the type of fact `f`"),
        ("fact f is money default 100", "the default `100` is not money, the type of fact `f`"),
        ("fact f is date default yes", "the default `yes` is not a date, the type of fact `f`"),
        ("fact f is text default no", "the default `no` is not text, the type of fact `f`"),
        (
            'fact f is one of low, high default "medium"',
            'the default `"medium"` is not one of the values of fact `f`: low, high; write one of them in quotes, like "low"',
        ),
    ],
)
def test_a_default_of_the_wrong_type(errors: Find, fact: str, message: str) -> None:
    assert errors(policy(fact)) == [f"{at(9, fact, 'default ', offset=8)}: error: {message}"]


@pytest.mark.parametrize(
    "fact",
    [
        "fact f is yes/no default no",
        "fact f is number default 2",
        "fact f is number default 2.5",
        "fact f is number default 5%",
        "fact f is percentage default 5%",
        "fact f is money default £0",
        "fact f is date default 2020-01-01",
        'fact f is text default "none"',
        'fact f is one of low, high default "low"',
        "record r field g is text\nfact f is list of r default empty",
    ],
)
def test_defaults_that_fit(errors: Find, fact: str) -> None:
    assert errors(policy(fact)) == []


def test_parameters(errors: Find) -> None:
    backwards = "parameter backwards is percentage value 5% from 2021-01-01 until 2020-12-31"
    many = "parameter many is list of r value empty from 2020-01-01"
    assert errors(policy("parameter none_given is money", "parameter wrong is money value 5 from 2020-01-01", backwards, "record r field g is text", many)) == [
        "policy.rules:9:1: error: parameter `none_given` has no value; add `value ... from YYYY-MM-DD`",
        "policy.rules:10:32: error: the value `5` is not money, the type of parameter `wrong`",
        f"{at(11, backwards, 'value')}: error: this value ends (2020-12-31) before it starts (2021-01-01)",
        f"{at(13, many, 'list of r')}: error: a parameter holds one value, not a list",
    ]


def test_parameters_with_overlapping_periods(errors: Find) -> None:
    text = policy(
        "parameter limit is money",
        "value £1 from 2020-01-01 until 2020-12-31",
        "value £2 from 2020-12-31",
        "parameter open is money",
        "value £1 from 2020-01-01",
        "value £2 from 2022-01-01",
    )
    advice = "end that one with `until` a day before, or leave out its `until`: a value runs until the next one starts"
    # `open`'s first value has no `until`: it runs until the day before the next one starts, which is no overlap.
    assert errors(text) == [
        f"policy.rules:11:1: error: this value of `limit` starts on 2020-12-31, while the value at policy.rules:10:1 still applies; {advice}",
    ]


def test_parameter_periods_that_follow_each_other(diagnose: Find) -> None:
    text = policy(
        "parameter limit is money",
        "value £2 from 2021-01-01",
        "value £1 from 2020-01-01 until 2020-12-31",
        rule("a and b and cost is above limit and budget is known"),
    )
    assert diagnose(text) == []


def test_decision_outcomes(errors: Find) -> None:
    twice = "decision twice outcomes p, q, p"
    assert errors(policy("decision none", twice)) == [
        "policy.rules:9:1: error: decision `none` declares no outcomes; add `outcomes a, b, c`, "
        "or give it a type (`decision NAME is money`) for a decision that works out an amount",
        "policy.rules:9:1: error: decision `none` has no default rule; add `rule ... by default none is ...`",
        "policy.rules:10:1: error: decision `twice` has no default rule; add `rule ... by default twice is ...`",
        f"{at(10, twice, 'p', 2)}: error: the outcome `p` is listed twice",
    ]


def test_a_decision_for_each_item_of_a_fact_that_is_not_a_list(errors: Find) -> None:
    per = "decision per for each i in iterns outcomes p"
    assert errors(policy("record r field g is yes/no", "fact items is list of r", per, "rule per_default by default per is p")) == [
        f"{at(11, per, 'iterns')}: error: `iterns` is not a list fact, so the decision cannot be made for each of its items; did you mean `items`?",
    ]


# --- 3. citations --------------------------------------------------------------------------


def test_a_citation_of_an_undeclared_document(errors: Find) -> None:
    assert errors(policy('fact c is yes/no cites guid section "Scope"', 'fact e is yes/no cites handbook section "Scope"')) == [
        "policy.rules:9:18: error: there is no document called `guid`; did you mean `guide`?",
        'policy.rules:10:18: error: there is no document called `handbook`; declare it with `document handbook "its title"`',
    ]


def test_a_citation_of_a_section_the_document_does_not_have(errors: Find) -> None:
    assert errors(policy('define c as a cites guide section "Scopes"', 'define e as a cites guide section "Elsewhere"')) == [
        'policy.rules:9:15: error: document `guide` has no section "Scopes"; did you mean "Scope"?',
        'policy.rules:10:15: error: document `guide` has no section "Elsewhere"',
    ]


def test_a_document_without_sections_accepts_any_section(errors: Find) -> None:
    assert errors(policy('document notes "Notes"', 'parameter p is money value £1 from 2020-01-01 cites notes section "Anything" paragraph "9"')) == []


def test_citations_of_every_declaration_are_checked_even_a_duplicate(errors: Find) -> None:
    again = 'rule e exception to base when b then d is y cites guide section "Nowhere"'
    assert errors(policy(rule("a"), again)) == [
        "policy.rules:10:1: error: the rule label `e` is already used at policy.rules:9:1; every rule needs its own label",
        f'{at(10, again, "cites")}: error: document `guide` has no section "Nowhere"',
    ]


# --- 4. decision structure -------------------------------------------------------------------


def test_a_decision_without_a_default_rule(errors: Find) -> None:
    assert errors(policy("decision other outcomes p")) == [
        "policy.rules:9:1: error: decision `other` has no default rule; add `rule ... by default other is ...`"
    ]


def test_a_decision_with_two_default_rules(errors: Find) -> None:
    assert errors(policy('rule again by default d is y because "b" cites guide section "Scope"')) == [
        "policy.rules:9:1: error: decision `d` already has a default rule, `base` at policy.rules:8:1; make this rule an exception to it"
    ]


def test_an_exception_to_a_missing_rule(errors: Find) -> None:
    assert errors(policy(rule("a").replace("to base", "to bsae"), rule("b", label="f").replace("to base", "to nothing_like_it"))) == [
        "policy.rules:9:21: error: there is no rule labelled `bsae`; did you mean `base`?",
        "policy.rules:10:21: error: there is no rule labelled `nothing_like_it`",
    ]


def test_an_exception_to_a_rule_of_another_decision(errors: Find) -> None:
    assert errors(policy("decision other outcomes p", "rule other_default by default other is p", "rule e exception to base then other is p")) == [
        "policy.rules:11:21: error: rule `base` decides `d`, not `other`; an exception must be to a rule of the same decision"
    ]


def test_an_exception_to_itself(errors: Find) -> None:
    assert errors(policy(rule("a").replace("to base", "to e"))) == ["policy.rules:9:21: error: rule `e` cannot be an exception to itself"]


def test_exceptions_in_a_loop_are_reported_once(errors: Find) -> None:
    loop = [rule("a", label="p").replace("to base", "to q"), rule("b", label="q").replace("to base", "to r"), rule("a", label="r").replace("to base", "to p")]
    assert errors(policy(*loop)) == [
        "policy.rules:9:21: error: these rules are exceptions to each other in a loop: p -> q -> r -> p; "
        "one of them must be an exception to the default rule or to a rule under it"
    ]


def test_the_exception_tree_is_kept_for_the_compiler() -> None:
    model = model_of(policy(rule("a", label="e1"), rule("b", label="e2"), rule("a and b", label="e3").replace("to base", "to e1")))
    assert model.default_rule == {"d": "base"}
    assert model.rules_of == {"d": ["base", "e1", "e2", "e3"]}
    assert model.children == {"base": ["e1", "e2"], "e1": ["e3"]}


# --- 5. names and types -----------------------------------------------------------------------


def test_an_undeclared_name(errors: Find) -> None:
    first, second = rule("cots is above budget", label="e1"), rule("zzz", label="e2")
    assert errors(policy(first, second)) == [
        f"{at(9, first, 'cots')}: error: `cots` is not declared; did you mean `cost`?",
        f"{at(10, second, 'zzz')}: error: `zzz` is not declared",
    ]


def test_a_record_used_as_a_value(errors: Find) -> None:
    line = rule("element")
    assert errors(policy("record element field f is yes/no", line)) == [
        f"{at(10, line, 'element')}: error: `element` is a record, not a value; use a list fact of element items"
    ]


def test_a_rule_of_an_undeclared_decision(errors: Find) -> None:
    assert errors(policy('rule r by default delivry is x because "b" cites guide section "Scope"')) == [
        "policy.rules:9:19: error: there is no decision called `delivry`"
    ]
    assert errors(policy("decision delivery outcomes x", "rule r2 by default delivery is x", "rule r by default delivry is x")) == [
        "policy.rules:11:19: error: there is no decision called `delivry`; did you mean `delivery`?"
    ]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("cost is a", "`cost` is money and `a` is yes/no; they cannot be compared"),
        ("cost = yes", "`cost` is money and `yes` is yes/no; they cannot be compared"),
        ("cost is above a", "`is above` compares numbers, money or dates of the same kind, but `cost` is money and `a` is yes/no"),
        ("a is at least b", "`is at least` compares numbers, money or dates of the same kind, but `a` is yes/no and `b` is yes/no"),
        ("cost is above 100", "`is above` compares numbers, money or dates of the same kind, but `cost` is money and `100` is a whole number"),
        ('cost is "100"', '`cost` is money and `"100"` is text; they cannot be compared'),
        ("cost is before budget", "`is before` compares dates, but `cost` is money; use `is below` or `is above`"),
        ("2020-01-01 is after 5", "`is after` compares numbers, money or dates of the same kind, but `2020-01-01` is a date and `5` is a whole number"),
    ],
)
def test_comparisons_of_the_wrong_types(errors: Find, condition: str, message: str) -> None:
    line = rule(condition)
    assert errors(policy(line)) == [f"{at(9, line, condition)}: error: {message}"]


@pytest.mark.parametrize(
    "condition",
    [
        "cost is above budget",
        "cost is at most £1,000",
        "cost * 110% is below budget",
        "cost / budget is at most 1.1",
        "cost / budget is at most 110%",
        "cost - budget is above £0",
        "-cost is below £0",
        "2 * cost is above budget",
        "a is b and a is not yes",
        "a = b and a <> no",
        '"x" is "y"',
        "2020-01-01 is before 2021-01-01",
        "1 + 2.5 is above 3",
        "5% is below 1",
    ],
)
def test_comparisons_and_arithmetic_that_fit(errors: Find, condition: str) -> None:
    assert errors(policy(rule(condition))) == []


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('"a" + 1 is above 2', 'cannot add `"a"` (text) and `1` (a whole number)'),
        ("cost + 5000 is above budget", "cannot add `cost` (money) and `5000` (a whole number); write the number as money, like £1,000"),
        ("cost - 1 is above budget", "cannot subtract `cost` (money) and `1` (a whole number); write the number as money, like £1,000"),
        ("cost * budget is above budget", "cannot multiply `cost` (money) and `budget` (money)"),
        ("2 / cost is above 1", "cannot divide `2` (a whole number) and `cost` (money)"),
        ("a + b", "cannot add `a` (yes/no) and `b` (yes/no)"),
        ("-a", "only numbers and money can be negative, and `a` is yes/no"),
    ],
)
def test_arithmetic_on_the_wrong_types(errors: Find, condition: str, message: str) -> None:
    line = rule(condition)
    assert errors(policy(line)) == [f"{at(9, line, condition)}: error: {message}"]


def test_arithmetic_on_text(errors: Find) -> None:
    line = rule("ref * 2 is above 1")
    assert errors(policy("fact ref is text", line)) == [f"{at(10, line, 'ref')}: error: cannot multiply `ref` (text) and `2` (a whole number)"]


@pytest.mark.parametrize(
    ("condition", "fragment", "message"),
    [
        ("cost", "cost", "`when` needs a yes/no condition, but `cost` is money"),
        ("a and cost", "cost", "`and` needs a yes/no condition, but `cost` is money"),
        ("a or 5", "5", "`or` needs a yes/no condition, but `5` is a whole number"),
        ("not cost", "cost", "`not` needs a yes/no condition, but `cost` is money"),
        ("any of (a, cost)", "cost", "this list of conditions needs a yes/no condition, but `cost` is money"),
    ],
)
def test_conditions_must_be_yes_or_no(errors: Find, condition: str, fragment: str, message: str) -> None:
    line = rule(condition)
    assert errors(policy(line)) == [f"{at(9, line, fragment)}: error: {message}"]


def test_a_defined_value_may_be_of_any_type(errors: Find) -> None:
    assert errors(policy("define total as cost + budget", rule("total is above £5"))) == []


def test_conclusions_must_be_outcomes_of_the_decision(errors: Find) -> None:
    lines = [
        rule("a", "w", label="e1"),
        rule("a", "procure", label="e2"),
        rule("b", "a", label="e3"),
        "decision wider outcomes x, y, q",
        'rule wide by default wider is q because "b" cites guide section "Scope"',
        rule("a and b", "wider", label="e4"),
    ]
    assert errors(policy(*lines)) == [
        f"{at(9, lines[0], 'w because')}: error: `w` is not an outcome of decision `d`; its outcomes are x, y, z",
        f"{at(10, lines[1], 'procure')}: error: `procure` is not an outcome of decision `d`; its outcomes are x, y, z",
        f"{at(11, lines[2], 'a because')}: error: the conclusion `a` must be an outcome of decision `d`; it is yes/no",
        f"{at(14, lines[5], 'wider')}: error: the conclusion `wider` must be an outcome of decision `d`; it can be q, which decision `d` does not declare",
    ]


def test_a_decision_is_compared_with_its_outcomes(errors: Find) -> None:
    lines = [
        "decision later outcomes p, q",
        'rule later_default by default later is p because "b" cites guide section "Scope"',
        rule("later is q", label="e1"),
        rule("later is one of (p, r)", label="e2"),
        "define compared as later is d",
    ]
    assert errors(policy(*lines)) == [
        f"{at(12, lines[3], 'r)')}: error: `r` is not one of the values of `later`: p, q",
        f"{at(13, lines[4], 'later')}: error: `later` is one of p, q and `d` is one of x, y, z; they cannot be compared",
    ]


def test_listed_values(errors: Find) -> None:
    lines = [
        "fact risk is one of low, medium, high",
        rule("risk is hihg", label="e1"),
        rule("risk is not one of (low, meduim)", label="e2"),
        rule('risk is "high" and "low" is risk and "huge" is risk', label="e3"),
        rule("risk is one of (low, 5)", label="e4"),
        rule("big is risk", label="e5"),
    ]
    assert errors(policy(*lines)) == [
        f"{at(10, lines[1], 'hihg')}: error: `hihg` is not one of the values of `risk`: low, medium, high; did you mean `high`?",
        f"{at(11, lines[2], 'meduim')}: error: `meduim` is not one of the values of `risk`: low, medium, high; did you mean `medium`?",
        f'{at(12, lines[3], chr(34) + "huge")}: error: "huge" is not one of the values of `risk`: low, medium, high',
        f"{at(13, lines[4], '5')}: error: `5` is a whole number, so it cannot be a value of `risk`, which is one of low, medium, high",
        f"{at(14, lines[5], 'big')}: error: `big` is not one of the values of `risk`: low, medium, high",
    ]


def test_an_undeclared_name_is_reported_once_not_again_on_the_other_side(errors: Find) -> None:
    line = rule("riks is high")
    assert errors(policy(line)) == [f"{at(9, line, 'riks')}: error: `riks` is not declared"]


@pytest.mark.parametrize(
    ("condition", "fragment", "message"),
    [
        ("cost is empty", "cost", "only a list can be empty, and `cost` is money"),
        ("number of cost is above 1", "cost", "`number of` counts the items of a list, and `cost` is money"),
        ("any p in cost where a", "cost", "`cost` is money, not a list, so its items cannot be looked at"),
        ("at least 1 of a", "a then", "`a` is yes/no; `at least of` needs a set of reasons or a list of conditions in brackets"),
    ],
)
def test_lists_and_sets_of_reasons_of_the_wrong_type(errors: Find, condition: str, fragment: str, message: str) -> None:
    line = rule(condition)
    assert errors(policy(line)) == [f"{at(9, line, fragment)}: error: {message}"]


def test_sets_of_reasons(errors: Find) -> None:
    reasons = "define reasons as those of a, b, cost that hold"
    assert errors(policy(reasons, rule("at least 2 of reasons and any of reasons"))) == [
        f"{at(9, reasons, 'cost')}: error: `cost` is money, but a reason must be a yes/no fact or condition",
    ]


def test_at_least_more_conditions_than_listed_is_a_warning(diagnose: Find) -> None:
    line = rule("at least 3 of (a, b) and cost is above budget")
    assert diagnose(policy(line)) == [f"{at(9, line, 'at least')}: warning: at least 3 of 2 conditions can never hold"]


OTHER = ("decision other outcomes p", 'rule other_default by default other is p because "b" cites guide section "Scope"')
ITEMS = ("record element field specialist is yes/no field cost is money", "fact elements is list of element default empty")


def test_quantifiers_over_the_items_of_a_list(errors: Find) -> None:
    text = policy(
        *ITEMS,
        rule("any part in elements where part.specialist", label="e1"),
        rule("every part in elements where part.cost is above cost", label="e2"),
        rule("no part in elements where part.specialist", label="e3"),
        rule("(number of part in elements where part.specialist) is at least 2 and number of elements is below 5", label="e4"),
        rule("elements is not empty and any part in elements where any other in elements where other.cost is above part.cost", label="e5"),
    )
    assert errors(text) == []


def test_items_and_fields(errors: Find) -> None:
    lines = [
        rule("any part in elements where part.specalist", label="e1"),
        rule("any part in elements where prat.specialist", label="e2"),
        rule("elements.specialist", label="e3"),
        rule("any a in elements where a.specialist", label="e4"),
        rule("any part in elements where part", label="e5"),
        rule("any part in elements where part.cost", label="e6"),
    ]
    assert errors(policy(*ITEMS, *lines)) == [
        f"{at(11, lines[0], 'part.')}: error: an element has no field `specalist`; did you mean `specialist`?",
        f"{at(12, lines[1], 'prat')}: error: `prat` is not an item being looked at here; "
        "fields are read as `item.field` inside `any item in list where ...`; did you mean `part`?",
        f"{at(13, lines[2], 'elements')}: error: `elements` is a list, so it has no single `specialist`; "
        "look at its items, like `any item in elements where item.specialist`",
        f"{at(14, lines[3], 'any a')}: error: `a` is already the name of a fact; call the item something else",
        f"{at(15, lines[4], 'part', 2)}: error: `where` needs a yes/no condition, but `part` is an element",
        f"{at(16, lines[5], 'part.cost')}: error: `where` needs a yes/no condition, but `part.cost` is money",
    ]


def test_a_decision_for_each_item_reads_the_item_in_its_rules(errors: Find) -> None:
    line = rule("per_part is x", label="e1")
    text = policy(
        *ITEMS,
        "decision per_part for each part in elements outcomes x, y, z, external",
        'rule per_part_default by default per_part is x because "b" cites guide section "Scope"',
        'rule specialist exception to per_part_default when part.specialist then per_part is external because "b" cites guide section "Scope"',
        line,
    )
    assert errors(text) == [f"{at(14, line, 'per_part')}: error: `per_part` is decided for each item of a list, so it has no single value here"]


@pytest.mark.parametrize(
    ("condition", "fragment", "message"),
    [
        ("a is known", "", None),
        ("a is not known", "", None),
        ("any part in elements where part.specialist is known", "", None),
        ("both is known", "both", "`is known` asks whether a fact was given, but `both` is a defined value"),
        ("limit is known", "limit", "`is known` asks whether a fact was given, but `limit` is a parameter"),
        ("d is not known", "d is", "`is not known` asks whether a fact was given, but `d` is a decision"),
        ("cost + budget is known", "cost", "`is known` asks whether a fact was given, but `cost + budget` is not a fact"),
        ("(a and b) is known", "(", "`is known` asks whether a fact was given, but `a and b` is not a fact"),
        ("any part in elements where part is known", "part is", "`is known` asks whether a fact was given, but `part` is an item of a list"),
        ("yes is known", "yes", "`is known` asks whether a fact was given, but `yes` is not a fact"),
    ],
)
def test_is_known_asks_only_about_facts_and_fields(errors: Find, condition: str, fragment: str, message: str | None) -> None:
    line = f"rule o exception to other_default when {condition} then other is p"  # not a rule of `d`, which may then be read
    text = policy(*ITEMS, "define both as a and b", "parameter limit is money value £1 from 2020-01-01", *OTHER, line)
    advice = "use it only on a fact or on an item's field (`item.field`)"
    assert errors(text) == ([f"{at(15, line, fragment)}: error: {message}; {advice}"] if message else [])


def test_is_known_of_an_undeclared_name_is_reported_once(errors: Find) -> None:
    line = rule("nothing is known")
    assert errors(policy(line)) == [f"{at(9, line, 'nothing')}: error: `nothing` is not declared"]


def test_what_every_name_refers_to_is_kept_for_the_compiler() -> None:
    model = model_of(policy("define both as a and b", rule("both and d is y")))
    e = model.rules["e"]
    assert isinstance(e.condition, n.BoolOp)
    both, compare = e.condition.operands
    assert isinstance(compare, n.Compare)
    refs = [model.refs[id(x)] for x in (both, compare.left, compare.right, e.conclusion)]
    assert [(r.kind, r.name) for r in refs] == [("define", "both"), ("decision", "d"), ("value", "y"), ("value", "y")]
    assert model.type_of(compare) == Type("yes/no")
    assert model.name_types["both"] == Type("yes/no")
    assert model.name_types["d"] == Type("one of", values=("x", "y", "z"))


# --- 6. cycles -----------------------------------------------------------------------------------


def test_defined_values_that_depend_on_each_other(errors: Find) -> None:
    assert errors(policy("define p as q and a", "define q as r or b", "define r as p", rule("p"))) == [
        "policy.rules:9:1: error: `p` depends on itself: p -> q -> r -> p; one of these must be worked out without the others"
    ]


def test_a_defined_value_that_depends_on_itself(errors: Find) -> None:
    assert errors(policy("define p as p or a", rule("p"))) == ["policy.rules:9:1: error: `p` depends on itself; it cannot be worked out from its own value"]


def test_a_decision_that_reads_itself(errors: Find) -> None:
    assert errors(policy(rule("d is z"))) == ["policy.rules:7:1: error: `d` depends on itself; it cannot be worked out from its own value"]


def test_decisions_and_defined_values_in_a_cycle(errors: Find) -> None:
    assert errors(policy("define risky as d is y", rule("risky"))) == [
        "policy.rules:7:1: error: `d` depends on itself: d -> risky -> d; one of these must be worked out without the others"
    ]


# --- 7. the policy header ---------------------------------------------------------------------------


def test_several_decisions_need_a_header_naming_the_outcome(errors: Find) -> None:
    assert errors(policy(*OTHER, header="# no header")) == [
        "policy.rules:2:1: error: this policy has several decisions; "
        'add a `policy "its name"` header with `outcome DECISION` to say which one gives the outcome'
    ]
    assert errors(policy(*OTHER, header='policy "P"')) == [
        "policy.rules:1:1: error: say which decision gives the outcome: add `outcome DECISION` to the policy header"
    ]


NOTHING_TO_DECIDE = "this policy has no decision, so there is nothing to decide; add one, like `decision delivery outcomes a, b`, with a default rule"


@pytest.mark.parametrize(
    ("text", "where"),
    [("", "1:1"), ("# only a comment\n", "1:1"), ('# facts first\n\npolicy "P"\nfact a is yes/no kept for reference\n', "3:1")],
)
def test_a_policy_without_any_decision(diagnose: Find, text: str, where: str) -> None:
    assert diagnose(text) == [f"policy.rules:{where}: error: {NOTHING_TO_DECIDE}"]


def test_the_header_error_points_at_the_first_declaration_even_after_an_empty_file() -> None:
    body = policy(*OTHER, header="# no header")
    _model, diagnostics = analyse({"00-empty.rules": "# nothing here yet\n", "10-body.rules": body}, "t")
    assert [str(d.span) for d in diagnostics if d.severity == "error"] == ["10-body.rules:2:1"]


def test_one_decision_gives_the_outcome_without_a_header(diagnose: Find) -> None:
    text = policy(CLEAN, header="# no header")
    assert diagnose(text) == []
    assert model_of(text).outcome == "d"


def test_the_header_names_decisions(errors: Find) -> None:
    header = 'policy "P" outcome dd priority per_part element outcomes d'
    text = policy(*ITEMS, "decision per_part for each part in elements outcomes x", "rule per_part_default by default per_part is x", header=header)
    assert errors(text) == [
        f"{at(1, header, 'dd')}: error: the outcome must be a decision, and `dd` is not one; did you mean `d`?",
        f"{at(1, header, 'per_part')}: error: decision `per_part` is made for each item of a list, so it cannot give the priority",
        f"policy.rules:1:{len(header)}: error: decision `d` is made once for the service, so it cannot give the element outcomes",
    ]


def test_the_header_names_a_set_of_reasons(errors: Find) -> None:
    header = 'policy "P" outcome d reasons reasonz'
    assert errors(policy("define reasons as those of a, b that hold", header=header)) == [
        f"{at(1, header, 'reasonz')}: error: there is no set of reasons called `reasonz`; did you mean `reasons`?",
    ]
    header = 'policy "P" outcome d reasons both'
    assert errors(policy("define both as a and b", header=header)) == [
        f"{at(1, header, 'both')}: error: `both` must be a set of reasons (`define ... as those of a, b that hold`)",
    ]


def test_the_header_names_a_text_fact_for_the_service(errors: Find) -> None:
    header = 'policy "P" outcome d service name cost'
    assert errors(policy(header=header)) == [f"{at(1, header, 'cost')}: error: the service name must be a text fact, and `cost` is money"]
    header = 'policy "P" outcome d service name servce'
    assert errors(policy("fact service is text", header=header)) == [
        f"{at(1, header, 'servce')}: error: there is no fact called `servce`; did you mean `service`?"
    ]


def test_a_full_header_fills_the_model() -> None:
    header = 'policy "Checked" version "v2" service name service outcome d priority p reasons reasons element outcomes per'
    text = policy(
        *ITEMS,
        "fact service is text",
        "define reasons as those of a, b that hold",
        "decision p outcomes high, low",
        'rule p_default by default p is low because "b" cites guide section "Scope"',
        "decision per for each part in elements outcomes x",
        'rule per_default by default per is x because "b" cites guide section "Scope"',
        rule("at least 1 of reasons and cost is above budget"),
        header=header,
    )
    model = model_of(text)
    assert (model.title, model.version, model.outcome, model.priority, model.reasons, model.element_outcomes, model.service_name) == (
        "Checked",
        "v2",
        "d",
        "p",
        "reasons",
        "per",
        "service",
    )
    assert model.diagnostics == []


# --- 8. explanations (warnings) ------------------------------------------------------------------


def test_a_rule_without_a_citation_or_a_reason_is_a_warning(diagnose: Find) -> None:
    assert diagnose(policy("rule e exception to base when a and b and cost is above budget then d is y")) == [
        'policy.rules:9:1: warning: rule `e` cites no section of the policy; add `cites DOCUMENT section "..."`',
        'policy.rules:9:1: warning: rule `e` has no `because "..."` sentence to show in explanations',
    ]


# --- 9. unused declarations (warnings) -------------------------------------------------------------


def test_declarations_never_used_are_warnings(diagnose: Find) -> None:
    text = policy(
        CLEAN,
        "fact spare is yes/no",
        "fact kept is date kept for reference",
        "parameter rate is percentage value 5% from 2020-01-01",
        "define idle as a or b",
        "decision lonely outcomes p",
        'rule lonely_default by default lonely is p because "b" cites guide section "Scope"',
    )
    assert diagnose(text) == [
        "policy.rules:10:1: warning: fact `spare` is declared but never used",
        "policy.rules:12:1: warning: parameter `rate` is declared but never used",
        "policy.rules:13:1: warning: `idle` is defined but never used",
        "policy.rules:14:1: warning: decision `lonely` is never used: name it in the policy header or read it in a rule",
    ]


def test_warnings_alone_still_give_a_model() -> None:
    model, diagnostics = analyse({"p.rules": policy("fact spare is yes/no", CLEAN)}, "t")
    assert model is not None
    assert [d.severity for d in diagnostics] == ["warning"]


def test_a_list_used_wrongly_is_not_also_reported_unused(diagnose: Find) -> None:
    line = rule("elements.specialist and cost is above budget and a and b")
    assert diagnose(policy(*ITEMS, line)) == [
        f"{at(11, line, 'elements')}: error: `elements` is a list, so it has no single `specialist`; "
        "look at its items, like `any item in elements where item.specialist`"
    ]


# --- the real rule set, seen through the model -------------------------------------------------------


def test_the_haringey_model() -> None:
    # The frozen copy: the structure asserted is that of the rules as read in 2019-07, not of whatever an officer has changed since.
    model, diagnostics = analyse(read_sources([ROOT / "tests" / "policies" / "haringey-2019-07"]), "haringey")
    assert diagnostics == [] and model is not None
    assert (model.outcome, model.priority, model.reasons, model.element_outcomes, model.service_name) == (
        "delivery",
        "programme_priority",
        "strong_benefit_reasons",
        "element_delivery",
        "service",
    )
    assert model.default_rule == {
        "delivery": "insource_by_default",
        "in_house_mode": "in_house_at_once",
        "element_delivery": "part_follows_service",
        "programme_priority": "priority_only_when_insourcing",
    }
    assert model.children["insource_by_default"] == ["hybrid_for_specialist_elements"]
    assert model.children["partner_with_vcs"] == ["partner_with_nhs"]
    assert model.fact_types["elements"] == Type("list", record="element")
