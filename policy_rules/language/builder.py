"""Parse tree to AST: a thin Lark transformer that attaches spans to every node."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from policy_rules.engine.dates import UNITS
from policy_rules.errors import Diagnostic, source_line
from policy_rules.language import nodes as n

_COMPARE_WORDS = {
    "is": "=",
    "=": "=",
    "is not": "<>",
    "<>": "<>",
    "is at least": ">=",
    ">=": ">=",
    "is at most": "<=",
    "<=": "<=",
    "is above": ">",
    "is more than": ">",
    "is after": ">",
    ">": ">",
    "is below": "<",
    "is less than": "<",
    "is before": "<",
    "<": "<",
}


_MONEY = re.compile(r"£\s?(\d{1,3}(,\d{3})*|\d+)(\.\d+)?")

#: The most digits a number, amount or percentage in a rule file may have, as in a facts file.
#: Far beyond any sum a council deals in; a longer one would overflow the arithmetic.
MAX_LITERAL_DIGITS = 100


class BuildError(Exception):
    """A literal that parses but cannot be a value (such as the date 2020-02-31)."""

    def __init__(self, span: n.Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@v_args(meta=True)
class _Builder(Transformer):
    def __init__(self, path: str, text: str = "") -> None:
        super().__init__()
        self.path = path
        self.text = text
        self.errors: list[BuildError] = []

    def _span(self, meta: Meta) -> n.Span:
        if getattr(meta, "empty", True):
            return n.Span(self.path, 0, 0, 0, 0)
        return n.Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> n.Span:
        return n.Span(self.path, tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)

    def _name(self, tok: Token) -> n.Name:
        return n.Name(str(tok), span=self._tok_span(tok))

    # --- file ---------------------------------------------------------------
    def start(self, meta: Meta, children: list[Any]) -> n.RuleFile:
        span = n.Span(self.path, 1, 1, 1, 1) if getattr(meta, "empty", True) else self._span(meta)  # an empty file is still somewhere
        return n.RuleFile(self.path, tuple(children), span=span)

    # --- header and documents -----------------------------------------------
    def policy_header(self, meta: Meta, children: list[Any]) -> n.PolicyHeader:
        clauses: dict[str, Any] = {}
        for kind, value in children[1:]:
            clauses[kind] = value
        return n.PolicyHeader(
            title=_unquote(children[0]),
            version=clauses.get("version"),
            service_name=clauses.get("service_name"),
            outcome=clauses.get("outcome"),
            priority=clauses.get("priority"),
            reasons=clauses.get("reasons"),
            element_outcomes=clauses.get("element_outcomes"),
            results=clauses.get("results", ()),
            span=self._span(meta),
        )

    def version_clause(self, meta: Meta, c: list[Token]) -> tuple[str, str]:
        return ("version", _unquote(c[0]))

    def service_name_clause(self, meta: Meta, c: list[Token]) -> tuple[str, n.Name]:
        return ("service_name", self._name(c[0]))

    def outcome_clause(self, meta: Meta, c: list[Token]) -> tuple[str, n.Name]:
        return ("outcome", self._name(c[0]))

    def priority_clause(self, meta: Meta, c: list[Token]) -> tuple[str, n.Name]:
        return ("priority", self._name(c[0]))

    def reasons_clause(self, meta: Meta, c: list[Token]) -> tuple[str, n.Name]:
        return ("reasons", self._name(c[0]))

    def element_outcomes_clause(self, meta: Meta, c: list[Token]) -> tuple[str, n.Name]:
        return ("element_outcomes", self._name(c[0]))

    def document_decl(self, meta: Meta, c: list[Any]) -> n.DocumentDecl:
        sections = c[2] if len(c) > 2 else ()
        return n.DocumentDecl(str(c[0]), _unquote(c[1]), sections, span=self._span(meta))

    def sections_clause(self, meta: Meta, c: list[Token]) -> tuple[str, ...]:
        return tuple(_unquote(t) for t in c)

    def citation(self, meta: Meta, c: list[Token]) -> n.Citation:
        paragraph = _unquote(c[2]) if len(c) > 2 else None
        return n.Citation(str(c[0]), _unquote(c[1]), paragraph, span=self._span(meta))

    # --- clauses shared by declarations --------------------------------------
    def means_clause(self, meta: Meta, c: list[Token]) -> tuple[str, str]:
        return ("means", _unquote(c[0]))

    def asks_clause(self, meta: Meta, c: list[Token]) -> tuple[str, str]:
        return ("asks", _unquote(c[0]))

    def default_clause(self, meta: Meta, c: list[Any]) -> tuple[str, n.Literal]:
        return ("default", c[0])

    def reference_clause(self, meta: Meta, c: list[Token]) -> tuple[str, bool]:
        return ("reference", True)

    def at_least_clause(self, meta: Meta, c: list[Any]) -> tuple[str, n.Literal]:
        return ("minimum", c[0])

    def negative_clause(self, meta: Meta, c: list[Token]) -> tuple[str, bool]:
        return ("negative", True)

    def because_clause(self, meta: Meta, c: list[Token]) -> tuple[str, str]:
        return ("because", _unquote(c[0]))

    # --- types ----------------------------------------------------------------
    def yes_no_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("yes/no", span=self._span(meta))

    def number_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("number", span=self._span(meta))

    def whole_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("whole number", span=self._span(meta))

    def money_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("money", span=self._span(meta))

    def percentage_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("percentage", span=self._span(meta))

    def date_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("date", span=self._span(meta))

    def text_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return n.TypeRef("text", span=self._span(meta))

    def enum_type(self, meta: Meta, c: list[Token]) -> n.TypeRef:
        return n.TypeRef("one of", values=tuple(str(t) for t in c), span=self._span(meta))

    def list_type(self, meta: Meta, c: list[Token]) -> n.TypeRef:
        return n.TypeRef("list", record=str(c[0]), span=self._span(meta))

    # --- facts, records, parameters -----------------------------------------
    def fact_decl(self, meta: Meta, c: list[Any]) -> n.FactDecl:
        clauses = [x for x in c[2:] if isinstance(x, tuple)]
        citations = tuple(x for x in c[2:] if isinstance(x, n.Citation))
        found = dict(clauses)
        return n.FactDecl(
            name=str(c[0]),
            type=c[1],
            means=found.get("means"),
            asks=found.get("asks"),
            default=found.get("default"),
            reference=found.get("reference", False),
            minimum=found.get("minimum"),
            negative=found.get("negative", False),
            citations=citations,
            span=self._span(meta),
        )

    def record_decl(self, meta: Meta, c: list[Any]) -> n.RecordDecl:
        found = dict(x for x in c[1:] if isinstance(x, tuple))
        fields = tuple(x for x in c[1:] if isinstance(x, n.FieldDecl))
        return n.RecordDecl(str(c[0]), found.get("means"), fields, span=self._span(meta))

    def field_decl(self, meta: Meta, c: list[Any]) -> n.FieldDecl:
        found = dict(x for x in c[2:] if isinstance(x, tuple))
        return n.FieldDecl(
            str(c[0]),
            c[1],
            found.get("means"),
            found.get("asks"),
            default=found.get("default"),
            minimum=found.get("minimum"),
            negative=found.get("negative", False),
            span=self._span(meta),
        )

    def parameter_decl(self, meta: Meta, c: list[Any]) -> n.ParameterDecl:
        found = dict(x for x in c[2:] if isinstance(x, tuple))
        values = tuple(x for x in c[2:] if isinstance(x, n.ParameterValue))
        citations = tuple(x for x in c[2:] if isinstance(x, n.Citation))
        ends = tuple(x for x in c[2:] if isinstance(x, n.NoValue))
        steps = tuple(x for x in c[2:] if isinstance(x, n.ScaleStep))
        return n.ParameterDecl(str(c[0]), c[1], found.get("means"), values, citations, ends=ends, steps=steps, span=self._span(meta))

    def no_value(self, meta: Meta, c: list[Token]) -> n.NoValue:
        return n.NoValue(self._date_of(c[0]), span=self._span(meta))

    def marginal_scale(self, meta: Meta, c: list[Any]) -> n.ScaleType:
        return n.ScaleType("marginal", None, span=self._span(meta))

    def banded_scale(self, meta: Meta, c: list[Any]) -> n.ScaleType:
        return n.ScaleType("banded", c[0], span=self._span(meta))

    def scale_step(self, meta: Meta, c: list[Any]) -> n.ScaleStep:
        entries: dict[str, list[n.ParameterValue]] = {"threshold": [], "rate": [], "amount": []}
        for word, value in c[1:]:
            entries[word].append(value)
        return n.ScaleStep(str(c[0]), tuple(entries["threshold"]), tuple(entries["rate"]), tuple(entries["amount"]), span=self._span(meta))

    def step_kind(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def entry_kind(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def scale_entry(self, meta: Meta, c: list[Any]) -> tuple[str, n.ParameterValue]:
        return (str(c[0]), self.version_value(meta, c[1:]))

    def version_value(self, meta: Meta, c: list[Any]) -> n.ParameterValue:
        span = self._span(meta)
        start = self._date_of(c[1])
        until = self._date_of(c[2]) if len(c) > 2 else None
        return n.ParameterValue(c[0], start, until, span=span)

    def _date_of(self, tok: Token) -> date:
        value = parse_date(str(tok))
        if value is None:  # noted, and building goes on so that every bad literal is reported
            self.errors.append(BuildError(self._tok_span(tok), f"`{tok}` is not a date in the calendar; write a real date as YYYY-MM-DD"))
            return date.min
        return value

    # --- derived values -------------------------------------------------------
    def define_decl(self, meta: Meta, c: list[Any]) -> n.DefineDecl:
        found = dict(x for x in c[2:] if isinstance(x, tuple))
        citations = tuple(x for x in c[2:] if isinstance(x, n.Citation))
        return n.DefineDecl(str(c[0]), c[1], found.get("because"), citations, span=self._span(meta))

    def reasons_set(self, meta: Meta, c: list[Token]) -> n.ReasonsSet:
        return n.ReasonsSet(tuple(self._name(t) for t in c), span=self._span(meta))

    # --- decisions and rules --------------------------------------------------
    def decision_decl(self, meta: Meta, c: list[Any]) -> n.DecisionDecl:
        for_each = next((x for x in c[1:] if isinstance(x, n.ForEach)), None)
        value_type = next((x for x in c[1:] if isinstance(x, n.TypeRef)), None)
        found = dict(x for x in c[1:] if isinstance(x, tuple) and x[0] == "means")
        outcomes: tuple[n.Name, ...] = ()
        for x in c[1:]:
            if isinstance(x, tuple) and x[0] == "outcomes":
                outcomes += x[1]
        return n.DecisionDecl(str(c[0]), for_each, found.get("means"), outcomes, value_type=value_type, span=self._span(meta))

    # --- amounts --------------------------------------------------------------
    def results_clause(self, meta: Meta, c: list[Token]) -> tuple[str, tuple[n.Name, ...]]:
        return ("results", tuple(self._name(t) for t in c))

    def decision_value_type(self, meta: Meta, c: list[Any]) -> n.TypeRef:
        return c[0]  # type: ignore[no-any-return]

    def greater_of(self, meta: Meta, c: list[Any]) -> n.Extreme:
        return n.Extreme("greater", tuple(c), span=self._span(meta))

    def smaller_of(self, meta: Meta, c: list[Any]) -> n.Extreme:
        return n.Extreme("smaller", tuple(c), span=self._span(meta))

    def round_unit(self, meta: Meta, c: list[Token]) -> str:
        return " ".join(str(t) for t in c)

    def round_nearest(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("nearest", c[0])

    def round_down(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("down", c[0])

    def round_up(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("up", c[0])

    def round_whole(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("nearest", "whole number")

    def rounded(self, meta: Meta, c: list[Any]) -> n.Rounded:
        direction, unit = c[1]
        return n.Rounded(direction, unit, c[0], span=self._span(meta))

    def if_then_else(self, meta: Meta, c: list[Any]) -> n.Conditional:
        return n.Conditional(c[0], c[1], c[2], span=self._span(meta))

    def total_of(self, meta: Meta, c: list[Any]) -> n.Total:
        c = [x for x in c if not (isinstance(x, Token) and x.type == "TOTAL")]
        return n.Total(c[0], str(c[1]), self._name(c[2]), c[3] if len(c) > 3 else None, span=self._span(meta))

    def scale_applied(self, meta: Meta, c: list[Any]) -> n.ScaleApplied:
        return n.ScaleApplied(self._name(c[0]), c[1], span=self._span(meta))

    def for_each(self, meta: Meta, c: list[Token]) -> n.ForEach:
        return n.ForEach(str(c[0]), self._name(c[1]), span=self._span(meta))

    def outcomes_clause(self, meta: Meta, c: list[Token]) -> tuple[str, tuple[n.Name, ...]]:
        return ("outcomes", tuple(self._name(t) for t in c))

    def rule_decl(self, meta: Meta, c: list[Any]) -> n.RuleDecl:
        head = c[1]
        found = dict(x for x in c[2:] if isinstance(x, tuple))
        citations = tuple(x for x in c[2:] if isinstance(x, n.Citation))
        return n.RuleDecl(
            label=str(c[0]),
            decision=head["decision"],
            parent=head.get("parent"),
            condition=head.get("condition"),
            conclusion=head["conclusion"],
            because=found.get("because"),
            citations=citations,
            span=self._span(meta),
        )

    def table_row(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return self._table_rule(meta, str(c[0]), c[1], c[2], c[3:])

    def table_otherwise(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return self._table_rule(meta, str(c[0]), None, c[1], c[2:])

    def _table_rule(self, meta: Meta, label: str, condition: Any, conclusion: Any, clauses: list[Any]) -> dict[str, Any]:
        found = dict(x for x in clauses if isinstance(x, tuple))
        citations = tuple(x for x in clauses if isinstance(x, n.Citation))
        span = self._span(meta)
        return {"label": label, "condition": condition, "conclusion": conclusion, "because": found.get("because"), "citations": citations, "span": span}

    def table_decl(self, meta: Meta, c: list[Any]) -> n.TableDecl:
        name, decision, rows = str(c[0]), self._name(c[1]), c[2:]
        rules: list[n.RuleDecl] = []
        for index, row in enumerate(rows):
            below = rows[index + 1] if index + 1 < len(rows) else None
            parent = n.Name(below["label"], span=row["span"]) if below is not None else None
            rules.append(n.RuleDecl(decision=decision, parent=parent, table=name, **row))
        return n.TableDecl(name, decision, tuple(rules), span=self._span(meta))

    def default_head(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"decision": self._name(c[0]), "conclusion": c[1]}

    def exception_head(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        if len(c) == 4:
            parent, condition, decision, conclusion = c
        else:
            parent, decision, conclusion = c
            condition = None
        return {"parent": self._name(parent), "condition": condition, "decision": self._name(decision), "conclusion": conclusion}

    # --- expressions ----------------------------------------------------------
    def or_(self, meta: Meta, c: list[Any]) -> n.BoolOp:
        return n.BoolOp("or", tuple(c), span=self._span(meta))

    def and_(self, meta: Meta, c: list[Any]) -> n.BoolOp:
        return n.BoolOp("and", tuple(c), span=self._span(meta))

    def not_(self, meta: Meta, c: list[Any]) -> n.Not:
        return n.Not(c[0], span=self._span(meta))

    def compare_op(self, meta: Meta, c: list[Token]) -> str:
        return " ".join(str(t) for t in c)

    def compare(self, meta: Meta, c: list[Any]) -> n.Compare:
        words = c[1]
        return n.Compare(_COMPARE_WORDS[words], c[0], c[2], words, span=self._span(meta))

    def between(self, meta: Meta, c: list[Any]) -> n.Between:
        return n.Between(c[0], c[1], c[2], span=self._span(meta))

    def within(self, meta: Meta, c: list[Any]) -> n.Within:
        return n.Within(c[0], c[1], c[2], False, span=self._span(meta))

    def not_within(self, meta: Meta, c: list[Any]) -> n.Within:
        return n.Within(c[0], c[1], c[2], True, span=self._span(meta))

    def today(self, meta: Meta, c: list[Any]) -> n.Today:
        return n.Today(span=self._span(meta))

    def years_from(self, meta: Meta, c: list[Any]) -> n.DateDiff:
        return n.DateDiff("years", c[0], c[1], span=self._span(meta))

    def months_from(self, meta: Meta, c: list[Any]) -> n.DateDiff:
        return n.DateDiff("months", c[0], c[1], span=self._span(meta))

    def days_from(self, meta: Meta, c: list[Any]) -> n.DateDiff:
        return n.DateDiff("days", c[0], c[1], span=self._span(meta))

    def period_unit(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def period(self, meta: Meta, c: list[Any]) -> n.Literal:
        count, unit = str(c[0]), c[1]
        text = f"{count} {unit}"
        if not count.isdigit() or self._too_long(c[0]):
            plural = unit.rstrip("s") + "s"
            self.errors.append(BuildError(self._tok_span(c[0]), f"`{text}` is not a period; write a whole number of {plural}, like `3 {plural}`"))
            return n.Literal("period", (0, 0), text, span=self._span(meta))
        months, days = UNITS[unit]
        return n.Literal("period", (int(count) * months, int(count) * days), text, span=self._span(meta))

    def member(self, meta: Meta, c: list[Any]) -> n.Member:
        return n.Member(c[0], tuple(c[1:]), False, span=self._span(meta))

    def not_member(self, meta: Meta, c: list[Any]) -> n.Member:
        return n.Member(c[0], tuple(c[1:]), True, span=self._span(meta))

    def is_empty(self, meta: Meta, c: list[Any]) -> n.Test:
        return n.Test("empty", c[0], False, span=self._span(meta))

    def is_not_empty(self, meta: Meta, c: list[Any]) -> n.Test:
        return n.Test("empty", c[0], True, span=self._span(meta))

    def is_known(self, meta: Meta, c: list[Any]) -> n.Test:
        return n.Test("known", c[0], False, span=self._span(meta))

    def is_not_known(self, meta: Meta, c: list[Any]) -> n.Test:
        return n.Test("known", c[0], True, span=self._span(meta))

    def arith(self, meta: Meta, c: list[Any]) -> n.Arith:
        return n.Arith(str(c[1]), c[0], c[2], span=self._span(meta))

    def neg(self, meta: Meta, c: list[Any]) -> n.Neg:
        return n.Neg(c[0], span=self._span(meta))

    def name_ref(self, meta: Meta, c: list[Token]) -> n.Name:
        return self._name(c[0])

    def field_ref(self, meta: Meta, c: list[Token]) -> n.Field:
        return n.Field(str(c[0]), str(c[1]), span=self._span(meta))

    def count_where(self, meta: Meta, c: list[Any]) -> n.Over:
        self._where_brackets(meta, "number of", str(c[0]), str(c[1]), c[2])
        return n.Over("count", str(c[0]), self._name(c[1]), c[2], span=self._span(meta))

    def _where_brackets(self, meta: Meta, quantifier: str, item: str, collection: str, body: Any) -> None:
        """A `where` condition that reads two ways must be written in brackets: say so, with both readings.

        The condition after `where` runs to the end of the expression, so
        `any s in xs where s.open and s.near` tests both on each item, and
        `number of s in xs where s.age is below 3` counts the items under 3: a
        reader may mean either, so without brackets both are errors.
        """
        if getattr(meta, "empty", True) or not self.text or _bracketed_after_where(self.text[meta.start_pos : meta.end_pos]):
            return
        head = f"{quantifier} {item} in {collection} where"
        if isinstance(body, n.BoolOp):
            first = _before_top_level(_after_where(self.text[meta.start_pos : meta.end_pos]), body.op)
            message = (
                f"the condition after `where` joins conditions with `{body.op}`; put brackets around what `where` applies to: "
                f"`{head} (... {body.op} ...)` to test both on each item, or `({head} {first}) {body.op} ...` to join the result"
            )
        elif quantifier == "number of" and isinstance(body, n.Compare | n.Between | n.Within):
            first = _source_of(self.text, body.left if isinstance(body, n.Compare) else body.operand)
            message = (
                f"`{head}` is followed by a comparison; put brackets around what you mean: `{head} ({first} ...)` "
                f"counts the items for which it holds, `({head} ...) {'is ...' if isinstance(body, n.Compare) else '...'}` compares the count"
            )
        else:
            return
        self.errors.append(BuildError(self._span(meta), message))

    def count_of(self, meta: Meta, c: list[Token]) -> n.Length:
        return n.Length(self._name(c[0]), span=self._span(meta))

    def _count(self, meta: Meta, quantifier: str, items: Any, at_least: int = 1) -> n.CountOf:
        if isinstance(items, n.Name):
            return n.CountOf(quantifier, (), items, at_least, span=self._span(meta))
        return n.CountOf(quantifier, tuple(items), None, at_least, span=self._span(meta))

    def any_of(self, meta: Meta, c: list[Any]) -> n.CountOf:
        return self._count(meta, "any", c[0])

    def all_of(self, meta: Meta, c: list[Any]) -> n.CountOf:
        return self._count(meta, "all", c[0])

    def none_of(self, meta: Meta, c: list[Any]) -> n.CountOf:
        return self._count(meta, "none", c[0])

    def at_least_of(self, meta: Meta, c: list[Any]) -> n.CountOf:
        return self._count(meta, "at_least", c[1], 0 if self._too_long(c[0]) else int(c[0]))

    def condition_list(self, meta: Meta, c: list[Any]) -> list[Any]:
        return c

    def reasons_ref(self, meta: Meta, c: list[Token]) -> n.Name:
        return self._name(c[0])

    def any_where(self, meta: Meta, c: list[Any]) -> n.Over:
        self._where_brackets(meta, "any", str(c[0]), str(c[1]), c[2])
        return n.Over("any", str(c[0]), self._name(c[1]), c[2], span=self._span(meta))

    def every_where(self, meta: Meta, c: list[Any]) -> n.Over:
        self._where_brackets(meta, "every", str(c[0]), str(c[1]), c[2])
        return n.Over("every", str(c[0]), self._name(c[1]), c[2], span=self._span(meta))

    def no_where(self, meta: Meta, c: list[Any]) -> n.Over:
        self._where_brackets(meta, "no", str(c[1]), str(c[2]), c[3])
        return n.Over("no", str(c[1]), self._name(c[2]), c[3], span=self._span(meta))

    # --- literals -------------------------------------------------------------
    def yes(self, meta: Meta, c: list[Any]) -> n.Literal:
        return n.Literal("yes/no", True, "yes", span=self._span(meta))

    def no(self, meta: Meta, c: list[Any]) -> n.Literal:
        return n.Literal("yes/no", False, "no", span=self._span(meta))

    def empty(self, meta: Meta, c: list[Any]) -> n.Literal:
        return n.Literal("list", (), "empty", span=self._span(meta))

    def _too_long(self, tok: Token) -> bool:
        """Whether a literal has more digits than any value needs; if so, noted as an error."""
        text = str(tok)
        digits = sum(ch.isdigit() for ch in text)
        if digits <= MAX_LITERAL_DIGITS:
            return False
        shown = text if len(text) <= 24 else text[:20] + "..."
        message = f"`{shown}` has {digits:,} digits, more than the {MAX_LITERAL_DIGITS} a value in a rule file may have; write it with fewer digits"
        self.errors.append(BuildError(self._tok_span(tok), message))
        return True

    def money(self, meta: Meta, c: list[Token]) -> n.Literal:
        text = str(c[0])
        if self._too_long(c[0]):
            return n.Literal("money", Decimal(0), text, span=self._span(meta))
        if not _MONEY.fullmatch(text):
            advice = "write the pounds in groups of three digits, like £1,000 or £1,250,000"
            self.errors.append(BuildError(self._tok_span(c[0]), f"`{text}` is not an amount of money; {advice}"))
        return n.Literal("money", Decimal(text.replace("£", "").replace(",", "").strip()), text, span=self._span(meta))

    def percent(self, meta: Meta, c: list[Token]) -> n.Literal:
        text = str(c[0])
        value = Decimal(0) if self._too_long(c[0]) else Decimal(text[:-1]) / 100
        return n.Literal("percentage", value, text, span=self._span(meta))

    def number(self, meta: Meta, c: list[Token]) -> n.Literal:
        text = str(c[0])
        value = Decimal(0) if self._too_long(c[0]) else Decimal(text)
        return n.Literal("whole number" if text.isdigit() else "number", value, text, span=self._span(meta))

    def date(self, meta: Meta, c: list[Token]) -> n.Literal:
        return n.Literal("date", self._date_of(c[0]), str(c[0]), span=self._span(meta))

    def string(self, meta: Meta, c: list[Token]) -> n.Literal:
        return n.Literal("text", _unquote(c[0]), str(c[0]), span=self._span(meta))


def _unquote(tok: Token | str) -> str:
    text = str(tok)
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def build(tree: Tree, path: str, text: str) -> tuple[n.RuleFile | None, list[Diagnostic]]:
    """The AST of one parsed file, or every literal error found while building it.

    Each declaration is built on its own, so an expression too deep to build is
    reported where its declaration starts and the others are still built.
    """
    builder = _Builder(path, text)
    declarations = []
    deep: list[Diagnostic] = []
    for child in tree.children:
        try:
            declarations.append(builder.transform(child))
        except Exception as error:  # Lark wraps transformer errors in VisitError
            inner = getattr(error, "orig_exc", error)
            if isinstance(inner, BuildError):
                builder.errors.append(inner)
            elif isinstance(inner, RecursionError):
                meta = child.meta
                span = n.Span(path, meta.line, meta.column, meta.line, meta.column) if not meta.empty else n.Span(path, 1, 1, 1, 1)
                message = "this expression is nested too deeply to read; split it into defined values"
                deep.append(Diagnostic("error", span, message, source_line(text, span.line)))
            else:
                raise
    diagnostics = deep + [Diagnostic("error", e.span, e.message, source_line(text, e.span.line)) for e in builder.errors]
    if diagnostics:
        return None, sorted(diagnostics, key=Diagnostic.sort_key)
    return builder.start(tree.meta, declarations), []


def _source_of(text: str, node: Any) -> str:
    """The text of a node as written (one line), for a message."""
    span = node.span
    lines = text.split("\n")
    if span.line < 1 or span.line != span.end_line or span.line > len(lines):
        return "..."
    return lines[span.line - 1][span.column - 1 : span.end_column - 1]


def _after_where(text: str) -> str:
    """The text after the first `where` of ``text``."""
    found = re.search(r"\bwhere\b", text)
    return text[found.end() :].strip() if found else ""


def _outside_quotes(text: str) -> list[tuple[int, str, int]]:
    """Each character of ``text`` outside quoted text, with its index and the bracket depth before it."""
    found: list[tuple[int, str, int]] = []
    depth, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
            continue
        found.append((index, char, depth))
        depth += 1 if char == "(" else -1 if char == ")" else 0
    return found


def _before_top_level(body: str, op: str) -> str:
    """The text of ``body`` before its first `and`/`or` outside brackets and quotes."""
    for index, _char, depth in _outside_quotes(body):
        if depth == 0 and re.match(rf"\s{op}\b", body[index:]):
            return " ".join(body[:index].split())
    return "..."


def _bracketed_after_where(text: str) -> bool:
    """Whether the condition after the first `where` of ``text`` is one bracketed expression."""
    body = _after_where(text)
    if not body.startswith("("):
        return False
    for index, char, depth in _outside_quotes(body):
        if char == ")" and depth == 1:
            return index == len(body) - 1
    return False
