"""The parser: every language feature parses, and syntax errors read as plain words.

Syntax errors are asserted exactly (``PATH:LINE:COL: error: MESSAGE``); none
may name a grammar token (``__ANON_3``, ``$END``, ``NAME``...).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from lark import Tree

from policy_rules.language.parser import DECLARATION_KEYWORDS, first_bracket_beyond, lark_parser, nesting_depth, parse_text

ROOT = Path(__file__).resolve().parents[2]


def parses(text: str) -> Tree:
    tree, diagnostics = parse_text(textwrap.dedent(text), "p.rules")
    assert diagnostics == []
    assert tree is not None
    return tree


def syntax_errors(text: str, path: str = "p.rules") -> list[str]:
    tree, diagnostics = parse_text(textwrap.dedent(text), path)
    assert tree is None
    return [f"{d.span}: {d.severity}: {d.message}" for d in diagnostics]


def kinds(tree: Tree) -> list[str]:
    return [child.data for child in tree.children]


# --- every feature parses ---------------------------------------------------------

FEATURES = {
    "policy header": """
        policy "Haringey insourcing policy"
          version "2019-07"
          service name service
          outcome delivery
          priority programme_priority
          reasons strong_benefit_reasons
          element outcomes element_delivery
        """,
    "policy header alone": 'policy "Small"',
    "document with sections": """
        document haringey "Insourcing policy"
          sections "Current position", "Principles",
                   "Implementation plan"
        """,
    "document without sections": 'document guide "A guide"',
    "fact of every type": """
        fact a is yes/no
        fact b is number
        fact c is whole number
        fact d is money
        fact e is percentage
        fact f is date
        fact g is text
        fact h is one of low, medium, high
        fact i is list of element
        """,
    "fact with every clause": """
        fact staff is whole number
          means "the number of staff"
          asks "How many staff would transfer in?"
          default 0
          kept for reference
          cites haringey section "Implementation plan" paragraph "3"
          cites haringey section "Principles"
        """,
    "record": """
        record element
          means "one part of a service"
          field name is text
            means "the name of the part"
          field specialist is yes/no
            means "it is specialist"
            asks "Is this part specialist?"
        """,
    "parameter with dated values": """
        parameter threshold is money
          means "the small contract limit"
          value £25,000 from 2019-04-01 until 2021-03-31
          value £30,000 from 2021-04-01
          cites guide section "Thresholds"
        """,
    "define": """
        define affordable as
          in_house_annual_cost is at most budget_available
          because "it fits the budget"
          cites haringey section "Principles"
        """,
    "set of reasons": """
        define reasons as those of
          quality_concerns, personal_contact, at_risk_groups
          that hold
          because "the reasons that count"
        """,
    "decision": """
        decision delivery
          means "how the service is delivered"
          outcomes in_house, procure,
                   hybrid
        """,
    "decision for each item": """
        decision element_delivery for each part in elements
          outcomes in_house, external
        """,
    "default rule": """
        rule insource_by_default
          by default delivery is in_house
          because "in-house by default"
          cites haringey section "Principles"
        """,
    "exception with a condition": """
        rule partner_with_nhs
          exception to partner_with_vcs
          when nhs_expertise
          then delivery is partnership_nhs
        """,
    "exception without a condition": """
        rule always
          exception to insource_by_default
          then delivery is procure
        """,
    "comments and blank lines": """
        # a comment on its own line

        fact a is yes/no   # a comment after a declaration
        # and a last one
        """,
}

EXPRESSIONS = {
    "and, or, not": "a and b or not c",
    "brackets": "(a or b) and not (c and d)",
    "word comparisons": "x is y and x is not y and x is at least y and x is at most y",
    "more word comparisons": "x is above y and x is below y and x is more than y and x is less than y",
    "date comparisons": "start is before 2020-03-31 and start is after 2019-01-01",
    "symbol comparisons": "x = y and x <> y and x < y and x <= y and x > y and x >= y",
    "arithmetic": "cost * 1.1 + £500 - fee / 2 is above budget",
    "negative": "-balance is above £0",
    "one of": "kind is one of (big, small)",
    "not one of": "kind is not one of (big, small)",
    "empty": "elements is empty and elements is not empty",
    "known": "cost is known and cost is not known",
    "any of": "any of (a, b, c)",
    "all of": "all of (a, b)",
    "none of": "none of (a, b)",
    "at least N of a list": "at least 2 of (a, b, c)",
    "at least N of a set of reasons": "at least 1 of strong_benefit_reasons",
    "any of a set of reasons": "any of strong_benefit_reasons",
    "any item": "any part in elements where part.specialist",
    "every item": "every part in elements where part.specialist",
    "no item": "no part in elements where part.specialist",
    "number of items where": "number of part in elements where part.specialist is above 2",
    "number of a list": "number of elements is at least 1",
    "field of an item": "part.specialist",
    "literals": 'a is yes or a is no or x is £1,200,000 or x is £250.50 or p is 5% or p is 12.5% or n is 12 or n is 3.5 or t is "text" or l is empty',
    "dates": "d is 2020-03-31",
    "money with a space": "x is £ 1,000",
    "nested quantifiers": "any part in elements where (part.specialist and not (every p in elements where p.specialist))",
}


@pytest.mark.parametrize("text", FEATURES.values(), ids=FEATURES.keys())
def test_every_declaration_parses(text: str) -> None:
    parses(text)


@pytest.mark.parametrize("expression", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_every_expression_parses(expression: str) -> None:
    tree = parses(f"define x as {expression}\n")
    assert kinds(tree) == ["define_decl"]


@pytest.mark.parametrize("expression", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_every_expression_parses_as_a_condition_and_a_conclusion(expression: str) -> None:
    tree = parses(f"rule r exception to q when {expression} then d is {expression}\n")
    assert kinds(tree) == ["rule_decl"]


def test_each_declaration_is_one_child_of_the_file() -> None:
    names = ("policy header", "document with sections", "fact with every clause", "record", "define", "decision", "default rule")
    tree = parses("\n".join(FEATURES[k] for k in names))
    assert kinds(tree) == ["policy_header", "document_decl", "fact_decl", "record_decl", "define_decl", "decision_decl", "rule_decl"]


def test_an_empty_file_and_a_file_of_comments_parse_to_no_declarations() -> None:
    assert kinds(parses("")) == []
    assert kinds(parses("# only a comment\n\n# and another\n")) == []


def test_a_declaration_may_span_any_lines_and_indentation() -> None:
    one_line = parses('rule r by default d is x because "b" cites g section "S"\n')
    many_lines = parses('rule r\n      by default\n d is\n\n x\n  because "b"\n cites g\n section "S"\n')
    assert one_line == many_lines


@pytest.mark.parametrize(
    "text",
    [
        "record element\n  field name is text\n",
        "fact service is text\n",
        'policy "P"\n  service name service\n',
        "decision element_delivery for each element in elements\n  outcomes a\n",
    ],
)
def test_words_of_the_header_can_still_be_names(text: str) -> None:
    """`name`, `service`, `element` are keywords only where the grammar expects them."""
    parses(text)


@pytest.mark.parametrize("folder", ["rules/haringey", "rules/small-example"])
def test_the_bundled_rule_sets_parse(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.rules"))
    assert files
    for path in files:
        tree, diagnostics = parse_text(path.read_text(encoding="utf-8"), str(path))
        assert diagnostics == [], path
        assert tree is not None


def test_the_parser_is_built_once() -> None:
    assert lark_parser() is lark_parser()


def test_spans_are_propagated_to_the_tree() -> None:
    tree = parses("\n\nfact a is yes/no\n")
    decl = tree.children[0]
    assert (decl.meta.line, decl.meta.column) == (3, 1)


# --- friendly syntax errors ----------------------------------------------------------

SYNTAX_ERRORS = {
    "misspelt keyword": (
        "rule r by defualt d is x\n",
        "p.rules:1:11: error: found the name `defualt` in this rule declaration; expected `default`",
    ),
    "misspelt clause keyword": (
        'rule r by default d is x\n  becuase "it is"\n',
        "p.rules:2:3: error: found the name `becuase` in this rule declaration; expected `because`, `cites`, "
        "an operator such as `and`, `or`, `is` or `+` or a new declaration; did you mean `because`?",
    ),
    "missing then": (
        "rule r exception to q\n  when a and b\n  d is y\n",
        "p.rules:3:3: error: found the name `d` in this rule declaration; expected `then` or an operator such as `and`, `or`, `is` or `+`; "
        "is `then` missing before the conclusion?",
    ),
    "text not closed": (
        'fact a is yes/no\n  means "the service\n',
        'p.rules:2:9: error: this text is not closed: add the missing `"` before the end of the line',
    ),
    "single quotes": (
        "fact a is text means 'x'\n",
        'p.rules:1:22: error: texts are written in double quotes, like "...", not single quotes',
    ),
    "curly quotes": (
        "fact a is text means \u201cx\u201d\n",
        'p.rules:1:22: error: texts are written in straight double quotes, like "...", not curly quotes',
    ),
    "greater-or-equal sign": (
        "define x as a \u2265 5\n",
        "p.rules:1:15: error: write `is at least` (or `>=`) instead of `\u2265`",
    ),
    "non-breaking space": (
        "fact a is\u00a0money\n",
        "p.rules:1:10: error: a non-breaking space (often pasted from a word processor) is not read as a space; type an ordinary space",
    ),
    "a character outside the language": (
        "define x as a @ b\n",
        "p.rules:1:15: error: the character `@` is not part of the rule language in this define declaration; expected `because`, `cites`, "
        "an operator such as `and`, `or`, `is` or `+` or a new declaration",
    ),
    "pound sign without digits": (
        "fact x is money default £x\n",
        "p.rules:1:25: error: write an amount of money as £ followed by digits, like £1,000 or £250.50",
    ),
    "misspelt type": (
        "fact a is yesno\n",
        "p.rules:1:11: error: found the name `yesno` in this fact declaration; expected a type: `yes/no`, `number`, `whole number`, `money`, "
        "`percentage`, `date`, `text`, `one of ...` or `list of ...`; did you mean `yes/no`?",
    ),
    "declaration stops early": (
        "decision d\n  outcomes\n",
        "p.rules:2:11: error: this decision declaration stops before it is complete; expected a name",
    ),
    "bracket not closed": (
        "define x as (a and b\n",
        "p.rules:1:21: error: this define declaration stops before it is complete; expected `)`",
    ),
    "operator without its right side": (
        "define x as a +\n",
        'p.rules:1:16: error: this define declaration stops before it is complete; expected a name or a value, like 12, £1,000, 5%, 2020-03-31, "text" or yes',
    ),
    "a doubled keyword": (
        "define x as a and and b\n",
        'p.rules:1:19: error: found `and` in this define declaration; expected a name or a value, like 12, £1,000, 5%, 2020-03-31, "text" or yes',
    ),
    "one of without brackets": (
        "define x as a is one of b, c\n",
        "p.rules:1:25: error: found the name `b` in this define declaration; expected `(`; the values are listed in brackets, like `is one of (a, b)`",
    ),
    "at least misspelt": (
        "define x as a is at lest 5\n",
        "p.rules:1:21: error: found the name `lest` in this define declaration; expected `least` or `most`; did you mean `least`?",
    ),
    "exception without to": (
        "rule r exception q then d is x\n",
        "p.rules:1:18: error: found the name `q` in this rule declaration; expected `to`",
    ),
    "default rule without its decision": (
        "rule r by default is x\n",
        "p.rules:1:19: error: found `is` in this rule declaration; expected a name",
    ),
    "citation without section": (
        'fact a is yes/no cites guide "Intro"\n',
        'p.rules:1:30: error: found the text "Intro" in this fact declaration; expected `section`',
    ),
    "sections without a comma": (
        'document d "D" sections "A" "B"\n',
        'p.rules:1:29: error: found the text "B" in this document declaration; expected `,` or a new declaration',
    ),
    "a long text is shortened": (
        'document d "D" sections "A" "a very long section title that goes on and on"\n',
        'p.rules:1:29: error: found the text "a very long section title t..." in this document declaration; expected `,` or a new declaration',
    ),
    "misspelt declaration keyword on its own line": (
        "fact a is yes/no\nfcat b is money\n",
        "p.rules:2:1: error: found the name `fcat` where a new declaration or a clause of this fact declaration should begin; did you mean `fact`?",
    ),
    "a file that does not start with a declaration": (
        '# the policy\npolcy "P"\n',
        "p.rules:2:1: error: the name `polcy` cannot start a declaration; each declaration begins with one of "
        "`policy`, `document`, `fact`, `record`, `parameter`, `define`, `decision`, `rule`, `table`; did you mean `policy`?",
    ),
    "stray words at the start": (
        "hello world\n",
        "p.rules:1:1: error: the name `hello` cannot start a declaration; each declaration begins with one of "
        "`policy`, `document`, `fact`, `record`, `parameter`, `define`, `decision`, `rule`, `table`",
    ),
    "within a period without the date it is measured from": (
        "rule r exception to q\n  when start is within 6 months\n  then d is y\n",
        "p.rules:2:32: error: `within 6 months` says how near, but not to what: write `of` and a date after it,"
        " such as `within 6 months of today` or `within 6 months of another_date`",
    ),
    "within a period at the end of the file": (
        "rule r exception to q\n  when start is not within 2 years",
        "p.rules:2:35: error: `within 2 years` says how near, but not to what: write `of` and a date after it,"
        " such as `within 2 years of today` or `within 2 years of another_date`",
    ),
    "amount of money split by a comma is read whole": (
        "fact a is money default £1,00\n",
        None,  # parses: the builder reports the amount (see test_builder)
    ),
}


@pytest.mark.parametrize(("text", "expected"), SYNTAX_ERRORS.values(), ids=SYNTAX_ERRORS.keys())
def test_syntax_errors_are_reported_in_plain_words_at_their_place(text: str, expected: str | None) -> None:
    if expected is None:
        parses(text)
    else:
        assert syntax_errors(text) == [expected]


TOKEN_NAMES = re.compile(r"__ANON|\$END|\$end|\b(" + "|".join(re.escape(t.name) for t in lark_parser().terminals) + r")\b")


@pytest.mark.parametrize(("text", "expected"), [v for v in SYNTAX_ERRORS.values() if v[1]], ids=[k for k, v in SYNTAX_ERRORS.items() if v[1]])
def test_no_message_names_a_grammar_token(text: str, expected: str) -> None:
    for message in syntax_errors(text):
        assert not TOKEN_NAMES.search(message), message


def _mutants(text: str) -> list[str]:
    """The Haringey rules broken in many small ways: a word dropped, doubled, a line cut short."""
    words = list(re.finditer(r"\S+", text))
    out = []
    for i in range(0, len(words), max(1, len(words) // 40)):
        w = words[i]
        out.append(text[: w.start()] + text[w.end() :])  # a word dropped
        out.append(text[: w.end()] + " " + w.group() + text[w.end() :])  # a word doubled
        out.append(text[: w.end()])  # the file cut after it
    return out


def test_no_mutation_of_a_real_rule_file_gives_a_crash_or_a_token_name() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "rules" / "haringey").glob("*.rules")))
    broken = 0
    for mutant in _mutants(text):
        tree, diagnostics = parse_text(mutant, "m.rules")
        if tree is None:
            broken += 1
            assert diagnostics
            for d in diagnostics:
                assert d.span.line >= 1 and d.span.column >= 1
                assert not TOKEN_NAMES.search(d.message), d.message
                assert "something else" not in d.message, d.message
    assert broken > 50


def test_every_broken_declaration_gets_its_own_error_in_order() -> None:
    text = """\
        fact cost is mony
          means "the yearly cost"

        fact budget is money

        rule r by defualt d is x

        define ok as cost is at most budget

        define bad as (cost is above budget
        """
    assert syntax_errors(text) == [
        "p.rules:1:14: error: found the name `mony` in this fact declaration; expected a type: `yes/no`, `number`, `whole number`, `money`, "
        "`percentage`, `date`, `text`, `one of ...` or `list of ...`; did you mean `money`?",
        "p.rules:6:11: error: found the name `defualt` in this rule declaration; expected `default`",
        "p.rules:10:36: error: this define declaration stops before it is complete; expected `)`",
    ]


def test_only_the_first_error_of_a_declaration_is_reported() -> None:
    assert syntax_errors("rule r by defualt d is x becuase\n") == ["p.rules:1:11: error: found the name `defualt` in this rule declaration; expected `default`"]


def test_the_path_is_the_one_given() -> None:
    assert syntax_errors("fact a is\n", path="rules/x/10-facts.rules")[0].startswith("rules/x/10-facts.rules:1:10: error: ")


def test_a_syntax_error_carries_its_source_line_and_a_caret() -> None:
    _tree, diagnostics = parse_text("fact a is yes/no\nrule r by defualt d is x\n", "p.rules")
    assert diagnostics[0].format() == (
        "p.rules:2:11: error: found the name `defualt` in this rule declaration; expected `default`\n    rule r by defualt d is x\n              ^"
    )


def test_keywords_are_listed_by_their_words() -> None:
    message = syntax_errors("fact a is money x\n")[0]
    assert message == (
        "p.rules:1:17: error: found the name `x` in this fact declaration; "
        "expected `asks`, `at least`, `cites`, `default`, `kept for reference`, `may be negative`, `means` or a new declaration"
    )


def test_the_declaration_keywords_are_the_grammar_s() -> None:
    grammar = (ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8")
    for keyword in DECLARATION_KEYWORDS:
        assert f'"{keyword}"' in grammar


@pytest.mark.parametrize(
    ("text", "depth"),
    [("a", 0), ("(a)", 1), ("((a) and (b))", 2), ('"((("', 0), ('"(" (b)', 1), ('"(\n(a)', 1), ("# (((\n(a)", 1), ("a # (\n(b) # )", 1)],
)
def test_nesting_depth_counts_brackets_outside_texts_and_comments(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_the_first_bracket_beyond_the_limit_is_located() -> None:
    text = 'define x as\n  "((" and (a or ((b and (c))))\n'
    assert first_bracket_beyond(text, 2) == (2, 19)
    assert first_bracket_beyond(text, 3) == (2, 26)
    assert first_bracket_beyond(text, 4) is None
    assert first_bracket_beyond("(" * 100_000 + "a" + ")" * 100_000) == (1, 61)
