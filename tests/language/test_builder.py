"""The builder: the AST of every feature, with spans that equality ignores, and literal values."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from policy_rules.language import nodes as n
from policy_rules.language.builder import build
from policy_rules.language.parser import parse_text

ROOT = Path(__file__).resolve().parents[2]
PATH = "b.rules"


def ast(text: str, path: str = PATH) -> n.RuleFile:
    text = textwrap.dedent(text)
    tree, diagnostics = parse_text(text, path)
    assert diagnostics == [] and tree is not None
    rule_file, diagnostics = build(tree, path, text)
    assert diagnostics == [] and rule_file is not None
    return rule_file


def one(text: str) -> n.Declaration:
    declarations = ast(text).declarations
    assert len(declarations) == 1
    return declarations[0]


def expr(text: str) -> n.Expr:
    define = one(f"define x as {text}\n")
    assert isinstance(define, n.DefineDecl)
    assert not isinstance(define.body, n.ReasonsSet)
    return define.body


def build_errors(text: str) -> list[str]:
    text = textwrap.dedent(text)
    tree, diagnostics = parse_text(text, PATH)
    assert diagnostics == [] and tree is not None
    rule_file, diagnostics = build(tree, PATH, text)
    assert rule_file is None
    return [f"{d.span}: {d.severity}: {d.message}" for d in diagnostics]


def name(text: str) -> n.Name:
    return n.Name(text)


def lit(kind: str, value: object, text: str) -> n.Literal:
    return n.Literal(kind, value, text)  # type: ignore[arg-type]


def whole(value: int) -> n.Literal:
    return lit("whole number", Decimal(value), str(value))


# --- declarations -------------------------------------------------------------------


def test_policy_header() -> None:
    header = one(
        """
        policy "Haringey insourcing policy"
          version "2019-07"
          service name service
          outcome delivery
          priority programme_priority
          reasons strong_benefit_reasons
          element outcomes element_delivery
        """
    )
    assert header == n.PolicyHeader(
        title="Haringey insourcing policy",
        version="2019-07",
        service_name=name("service"),
        outcome=name("delivery"),
        priority=name("programme_priority"),
        reasons=name("strong_benefit_reasons"),
        element_outcomes=name("element_delivery"),
    )


def test_policy_header_with_only_a_title() -> None:
    assert one('policy "P"') == n.PolicyHeader("P", None, None, None, None, None, None)


def test_document() -> None:
    assert one('document guide "The guide" sections "A", "B c"') == n.DocumentDecl("guide", "The guide", ("A", "B c"))
    assert one('document guide "The guide"') == n.DocumentDecl("guide", "The guide", ())


def test_fact_with_every_clause() -> None:
    fact = one(
        """
        fact staff is whole number
          means "the number of staff"
          asks "How many?"
          default 3
          kept for reference
          cites guide section "Staffing" paragraph "2.1"
          cites guide section "Pay"
        """
    )
    assert fact == n.FactDecl(
        name="staff",
        type=n.TypeRef("whole number"),
        means="the number of staff",
        asks="How many?",
        default=whole(3),
        citations=(n.Citation("guide", "Staffing", "2.1"), n.Citation("guide", "Pay")),
        reference=True,
    )


def test_a_bare_fact() -> None:
    assert one("fact a is yes/no") == n.FactDecl("a", n.TypeRef("yes/no"), None, None, None, ())


@pytest.mark.parametrize(
    ("written", "type_ref"),
    [
        ("yes/no", n.TypeRef("yes/no")),
        ("number", n.TypeRef("number")),
        ("whole number", n.TypeRef("whole number")),
        ("money", n.TypeRef("money")),
        ("percentage", n.TypeRef("percentage")),
        ("date", n.TypeRef("date")),
        ("text", n.TypeRef("text")),
        ("one of low, medium, high", n.TypeRef("one of", values=("low", "medium", "high"))),
        ("list of element", n.TypeRef("list", record="element")),
    ],
)
def test_types(written: str, type_ref: n.TypeRef) -> None:
    fact = one(f"fact x is {written}")
    assert isinstance(fact, n.FactDecl)
    assert fact.type == type_ref


def test_record_and_fields() -> None:
    record = one(
        """
        record element
          means "one part"
          field name is text
            means "its name"
          field specialist is yes/no
            means "it is specialist"
            asks "Is it specialist?"
        """
    )
    assert record == n.RecordDecl(
        "element",
        "one part",
        (
            n.FieldDecl("name", n.TypeRef("text"), "its name", None),
            n.FieldDecl("specialist", n.TypeRef("yes/no"), "it is specialist", "Is it specialist?"),
        ),
    )


def test_parameter_with_dated_values() -> None:
    parameter = one(
        """
        parameter limit is money
          means "the small contract limit"
          value £25,000 from 2019-04-01 until 2021-03-31
          value £30,000 from 2021-04-01
          cites guide section "Thresholds"
        """
    )
    assert parameter == n.ParameterDecl(
        "limit",
        n.TypeRef("money"),
        "the small contract limit",
        (
            n.ParameterValue(lit("money", Decimal(25000), "£25,000"), date(2019, 4, 1), date(2021, 3, 31)),
            n.ParameterValue(lit("money", Decimal(30000), "£30,000"), date(2021, 4, 1), None),
        ),
        (n.Citation("guide", "Thresholds"),),
    )


def test_define() -> None:
    define = one('define ok as a because "why" cites guide section "S"')
    assert define == n.DefineDecl("ok", name("a"), "why", (n.Citation("guide", "S"),))


def test_set_of_reasons() -> None:
    define = one("define reasons as those of a, b, c that hold")
    assert define == n.DefineDecl("reasons", n.ReasonsSet((name("a"), name("b"), name("c"))), None, ())


def test_decision() -> None:
    decision = one('decision delivery means "how" outcomes in_house, procure')
    assert decision == n.DecisionDecl("delivery", None, "how", (name("in_house"), name("procure")))


def test_decision_for_each_item() -> None:
    decision = one("decision element_delivery for each part in elements outcomes a, b")
    assert decision == n.DecisionDecl("element_delivery", n.ForEach("part", name("elements")), None, (name("a"), name("b")))


def test_outcomes_clauses_add_up() -> None:
    decision = one("decision d outcomes a outcomes b, c")
    assert isinstance(decision, n.DecisionDecl)
    assert [o.name for o in decision.outcomes] == ["a", "b", "c"]


def test_default_rule() -> None:
    rule = one('rule r by default d is x because "why" cites guide section "S"')
    assert rule == n.RuleDecl("r", name("d"), None, None, name("x"), "why", (n.Citation("guide", "S"),))
    assert isinstance(rule, n.RuleDecl) and rule.is_default


def test_exception_rule() -> None:
    rule = one("rule e exception to r when a then d is y")
    assert rule == n.RuleDecl("e", name("d"), name("r"), name("a"), name("y"), None, ())
    assert isinstance(rule, n.RuleDecl) and not rule.is_default


def test_exception_without_a_condition() -> None:
    rule = one("rule e exception to r then d is y")
    assert rule == n.RuleDecl("e", name("d"), name("r"), None, name("y"), None, ())


def test_declarations_keep_their_order_and_the_file_its_path() -> None:
    rule_file = ast("fact a is yes/no\ndecision d outcomes x\nrule r by default d is x\n", path="x/10.rules")
    assert rule_file.path == "x/10.rules"
    assert [type(d) for d in rule_file.declarations] == [n.FactDecl, n.DecisionDecl, n.RuleDecl]


# --- expressions ----------------------------------------------------------------------


def test_and_or_not_and_their_precedence() -> None:
    assert expr("a or b and not c") == n.BoolOp("or", (name("a"), n.BoolOp("and", (name("b"), n.Not(name("c"))))))
    assert expr("a and b and c") == n.BoolOp("and", (name("a"), name("b"), name("c")))
    assert expr("(a or b) and c") == n.BoolOp("and", (n.BoolOp("or", (name("a"), name("b"))), name("c")))


@pytest.mark.parametrize(
    ("words", "op"),
    [
        ("is", "="),
        ("=", "="),
        ("is not", "<>"),
        ("<>", "<>"),
        ("is at least", ">="),
        (">=", ">="),
        ("is at most", "<="),
        ("<=", "<="),
        ("is above", ">"),
        ("is more than", ">"),
        ("is after", ">"),
        (">", ">"),
        ("is below", "<"),
        ("is less than", "<"),
        ("is before", "<"),
        ("<", "<"),
    ],
)
def test_comparisons_keep_their_words(words: str, op: str) -> None:
    assert expr(f"x {words} y") == n.Compare(op, name("x"), name("y"), words)


def test_membership() -> None:
    assert expr("k is one of (a, b)") == n.Member(name("k"), (name("a"), name("b")), False)
    assert expr("k is not one of (a)") == n.Member(name("k"), (name("a"),), True)


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("l is empty", n.Test("empty", n.Name("l"), False)),
        ("l is not empty", n.Test("empty", n.Name("l"), True)),
        ("f is known", n.Test("known", n.Name("f"), False)),
        ("f is not known", n.Test("known", n.Name("f"), True)),
        ("p.f is known", n.Test("known", n.Field("p", "f"), False)),
    ],
)
def test_empty_and_known(text: str, node: n.Test) -> None:
    assert expr(text) == node


def test_arithmetic_precedence_and_negation() -> None:
    assert expr("a + b * c - -d") == n.Arith("-", n.Arith("+", name("a"), n.Arith("*", name("b"), name("c"))), n.Neg(name("d")))
    assert expr("(a + b) / 2") == n.Arith("/", n.Arith("+", name("a"), name("b")), whole(2))


def test_arithmetic_binds_tighter_than_comparison() -> None:
    assert expr("a * 2 is above b") == n.Compare(">", n.Arith("*", name("a"), whole(2)), name("b"), "is above")


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("any of (a, b)", n.CountOf("any", (n.Name("a"), n.Name("b")), None, 1)),
        ("all of (a, b)", n.CountOf("all", (n.Name("a"), n.Name("b")), None, 1)),
        ("none of (a)", n.CountOf("none", (n.Name("a"),), None, 1)),
        ("at least 2 of (a, b, c)", n.CountOf("at_least", (n.Name("a"), n.Name("b"), n.Name("c")), None, 2)),
        ("at least 1 of reasons", n.CountOf("at_least", (), n.Name("reasons"), 1)),
        ("any of reasons", n.CountOf("any", (), n.Name("reasons"), 1)),
    ],
)
def test_counting_conditions(text: str, node: n.CountOf) -> None:
    assert expr(text) == node


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("any p in parts where p.special", n.Over("any", "p", n.Name("parts"), n.Field("p", "special"))),
        ("every p in parts where p.special", n.Over("every", "p", n.Name("parts"), n.Field("p", "special"))),
        ("no p in parts where p.special", n.Over("no", "p", n.Name("parts"), n.Field("p", "special"))),
        ("number of p in parts where p.special", n.Over("count", "p", n.Name("parts"), n.Field("p", "special"))),
        ("number of parts", n.Length(n.Name("parts"))),
    ],
)
def test_quantifiers_over_list_items(text: str, node: n.Expr) -> None:
    assert expr(text) == node


def test_a_where_condition_that_reads_two_ways_needs_brackets() -> None:
    assert expr("any p in l where (p.a and b)") == n.Over("any", "p", name("l"), n.BoolOp("and", (n.Field("p", "a"), name("b"))))
    assert expr("(any p in l where p.a) and b") == n.BoolOp("and", (n.Over("any", "p", name("l"), n.Field("p", "a")), name("b")))
    # Brackets and quotes inside quoted text (with its escapes) do not count.
    assert isinstance(expr('any p in l where (p.n is "a \\" (b\\\\" and p.a)'), n.Over)
    below = n.Compare("<", n.Field("p", "n"), lit("whole number", Decimal(3), "3"), "is below")
    assert expr("number of p in l where (p.n is below 3)") == n.Over("count", "p", name("l"), below)
    assert build_errors("define x as any p in l where p.a and b\n") == [
        "b.rules:1:13: error: the condition after `where` joins conditions with `and`; put brackets around what `where` applies to: "
        "`any p in l where (... and ...)` to test both on each item, or `(any p in l where p.a) and ...` to join the result"
    ]
    assert build_errors("define x as every p in l where p.a or p.b and c\n") == [
        "b.rules:1:13: error: the condition after `where` joins conditions with `or`; put brackets around what `where` applies to: "
        "`every p in l where (... or ...)` to test both on each item, or `(every p in l where p.a) or ...` to join the result"
    ]
    assert build_errors("define x as (number of p in l where p.n is below 3) > 1\n") == [
        "b.rules:1:14: error: `number of p in l where` is followed by a comparison; put brackets around what you mean: "
        "`number of p in l where (p.n ...)` counts the items for which it holds, `(number of p in l where ...) is ...` compares the count"
    ]


def test_no_as_a_value_and_as_a_quantifier() -> None:
    assert expr("a is no") == n.Compare("=", name("a"), lit("yes/no", False, "no"), "is")
    assert expr("no p in l where p.a") == n.Over("no", "p", name("l"), n.Field("p", "a"))


# --- literals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("yes", "yes/no", True),
        ("no", "yes/no", False),
        ("£1,200,000", "money", Decimal("1200000")),
        ("£250.50", "money", Decimal("250.50")),
        ("£ 1,000", "money", Decimal("1000")),
        ("£1000", "money", Decimal("1000")),
        ("5%", "percentage", Decimal("0.05")),
        ("12.5%", "percentage", Decimal("0.125")),
        ("110%", "percentage", Decimal("1.1")),
        ("2020-03-31", "date", date(2020, 3, 31)),
        ("2020-02-29", "date", date(2020, 2, 29)),
        ("12", "whole number", Decimal(12)),
        ("3.5", "number", Decimal("3.5")),
        ('"a text"', "text", "a text"),
        ('"say \\"hello\\""', "text", 'say "hello"'),
        ("empty", "list", ()),
    ],
)
def test_literals(text: str, kind: str, value: object) -> None:
    literal = expr(f"x = {text}")
    assert isinstance(literal, n.Compare)
    assert literal.right == n.Literal(kind, value, text)  # type: ignore[arg-type]


def test_percentages_are_fractions_and_money_is_exact() -> None:
    comparison = expr("£0.10 + £0.20 is £0.30")
    assert isinstance(comparison, n.Compare) and isinstance(comparison.left, n.Arith)
    left, right = comparison.left.left, comparison.left.right
    assert isinstance(left, n.Literal) and isinstance(right, n.Literal) and isinstance(comparison.right, n.Literal)
    assert left.value + right.value == comparison.right.value  # type: ignore[operator]


MONEY_ADVICE = "write the pounds in groups of three digits, like £1,000 or £1,250,000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fact d is date default 2020-02-31", "b.rules:1:24: error: `2020-02-31` is not a date in the calendar; write a real date as YYYY-MM-DD"),
        ("define x as d is before 2021-13-01", "b.rules:1:25: error: `2021-13-01` is not a date in the calendar; write a real date as YYYY-MM-DD"),
        ("fact m is money default £1,00", f"b.rules:1:25: error: `£1,00` is not an amount of money; {MONEY_ADVICE}"),
        ("define x as m is above £12,5000", f"b.rules:1:24: error: `£12,5000` is not an amount of money; {MONEY_ADVICE}"),
    ],
)
def test_impossible_literals_are_errors_at_their_place(text: str, expected: str) -> None:
    assert build_errors(text) == [expected]


def test_every_impossible_literal_of_a_file_is_reported() -> None:
    assert build_errors(
        """\
        parameter p is money
          value £1 from 2021-02-29 until 2021-04-31
        fact d is date default 2019-00-10
        """
    ) == [
        "b.rules:2:17: error: `2021-02-29` is not a date in the calendar; write a real date as YYYY-MM-DD",
        "b.rules:2:34: error: `2021-04-31` is not a date in the calendar; write a real date as YYYY-MM-DD",
        "b.rules:3:24: error: `2019-00-10` is not a date in the calendar; write a real date as YYYY-MM-DD",
    ]


# --- spans --------------------------------------------------------------------------------


def _nodes(node: object) -> list[object]:
    found = [node]
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if attrs.has(type(child)) and not isinstance(child, n.Span):
                found += _nodes(child)
    return found


def test_every_node_of_the_haringey_rules_has_a_span_in_its_file() -> None:
    for path in sorted((ROOT / "rules" / "haringey").glob("*.rules")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + 1
        for node in _nodes(ast(text, path=str(path))):
            span = node.span  # type: ignore[attr-defined]
            assert span.path == str(path)
            if isinstance(node, n.RuleFile) and not node.declarations:
                continue
            assert 1 <= span.line <= span.end_line <= lines, node
            assert span.column >= 1, node


def test_spans_point_at_the_text_of_their_node() -> None:
    rule = one("rule r exception to base\n  when cost is above £5 and ok\n  then d is y\n")
    assert isinstance(rule, n.RuleDecl)
    assert str(rule.span) == "b.rules:1:1"
    assert rule.parent is not None and str(rule.parent.span) == "b.rules:1:21"
    assert rule.condition is not None and str(rule.condition.span) == "b.rules:2:8"
    assert isinstance(rule.condition, n.BoolOp)
    comparison, ok = rule.condition.operands
    assert isinstance(comparison, n.Compare)
    assert (comparison.span.line, comparison.span.column, comparison.span.end_line, comparison.span.end_column) == (2, 8, 2, 24)
    assert str(comparison.right.span) == "b.rules:2:22"
    assert str(ok.span) == "b.rules:2:29"
    assert str(rule.decision.span) == "b.rules:3:8"


def test_spans_are_left_out_of_equality_and_hashing() -> None:
    first = ast('fact a is yes/no\nrule r by default d is x because "b"\n', path="one.rules")
    moved = ast('\n\n\n   fact a is yes/no\n\n  rule r\n    by default d is x\n    because "b"\n', path="two.rules")
    assert first.declarations == moved.declarations
    assert hash(first.declarations) == hash(moved.declarations)
    assert first.declarations[1].span != moved.declarations[1].span  # type: ignore[union-attr]
    assert n.Name("a", span=n.Span("x", 1, 1, 1, 2)) == n.Name("a", span=n.Span("y", 9, 9, 9, 9))


def test_different_text_gives_different_trees() -> None:
    assert ast("fact a is yes/no").declarations != ast("fact a is money").declarations
    assert expr("a is at least b") != expr("a is above b")


def test_an_expression_too_deep_to_build_is_reported_at_its_declaration() -> None:
    text = "fact a is yes/no\nfact d is date default 2020-02-30\ndefine deep as " + "not " * 5000 + "a\ndefine fine as a\n"
    assert build_errors(text) == [
        "b.rules:2:24: error: `2020-02-30` is not a date in the calendar; write a real date as YYYY-MM-DD",
        "b.rules:3:1: error: this expression is nested too deeply to read; split it into defined values",
    ]


@pytest.mark.parametrize("expression", ["- " * 5000 + "a", "a + " * 5000 + "a", "not " * 5000 + "a"])
def test_long_chains_are_a_located_error_not_a_crash(expression: str) -> None:
    assert build_errors(f"\n\ndefine x as {expression}") == ["b.rules:3:1: error: this expression is nested too deeply to read; split it into defined values"]
