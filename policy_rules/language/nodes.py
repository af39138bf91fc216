"""The abstract syntax tree of a rule file.

Every node is a frozen attrs class that carries the span of source text it was
read from. Spans are left out of equality and hashing, so two rule files that
say the same thing produce equal trees wherever the text sits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs


@attrs.frozen
class Span:
    """Where a node sits in its file: 1-based line and column, inclusive start."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def short(self) -> str:
        """``PATH:LINE``, the form the trace uses."""
        return f"{self.path}:{self.line}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


# Every node ends with ``span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)``:
# where it was read from, left out of equality, hashing and repr.


# --- types -------------------------------------------------------------------


@attrs.frozen
class TypeRef:
    """A type as written: ``yes/no``, ``money``, ``one of a, b``, ``list of element``."""

    kind: str
    values: tuple[str, ...] = ()
    record: str | None = None
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


# --- expressions -------------------------------------------------------------


@attrs.frozen
class Literal:
    """A constant. ``kind`` is the type it was written as (yes/no, money, date...)."""

    kind: str
    value: bool | Decimal | date | str | tuple[()] | tuple[int, int]  # a period: (months, days)
    text: str
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Name:
    name: str
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Field:
    """``element.specialist``: a field of the item a quantifier is looking at."""

    item: str
    field: str
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Not:
    operand: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Compare:
    op: str  # "=", "<>", "<", "<=", ">", ">="
    left: Expr
    right: Expr
    words: str
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Between:
    """``operand is between low and high``: both ends included, as "aged between 2 and 6" is read."""

    operand: Expr
    low: Expr
    high: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Within:
    """``operand is within length of centre``: dates no further apart than a period, ends included."""

    operand: Expr
    length: Expr
    centre: Expr
    negated: bool
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Today:
    """``today``: the date the decision is made on (``--as-of``, the facts' ``as_of``, or the current date)."""

    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class DateDiff:
    """``years from start to end`` (or months, days): whole anniversaries, or days, between two dates."""

    unit: str
    start: Expr
    end: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Member:
    operand: Expr
    options: tuple[Expr, ...]
    negated: bool
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Test:
    """``x is empty`` / ``x is known`` and their negations."""

    test: str  # "empty" | "known"
    operand: Expr
    negated: bool
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Neg:
    operand: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class CountOf:
    """How many conditions hold (``at least N of``) over a list or a reasons set."""

    quantifier: str  # "any" | "all" | "none" | "at_least"
    conditions: tuple[Expr, ...]
    reasons: Name | None
    at_least: int
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Over:
    """A quantifier over the items of a list fact: any / every / no / number of."""

    quantifier: str  # "any" | "every" | "no" | "count"
    item: str
    collection: Name
    condition: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Length:
    """``number of elements``."""

    collection: Name
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


# --- amounts ------------------------------------------------------------------


@attrs.frozen
class Extreme:
    """``the greater of A and B`` (``which`` is "greater") or ``the smaller of A and B``."""

    which: str  # "greater" | "smaller"
    operands: tuple[Expr, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Rounded:
    """``A rounded to the nearest penny`` / ``down to the pound`` / ``up to the pound`` / ``to the nearest whole number``."""

    direction: str  # "nearest" | "down" | "up"
    unit: str  # "penny" | "pound" | "whole number"
    operand: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Conditional:
    """``if C then A else B``: the value of A when C holds, of B when it does not."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Total:
    """``total of EXPR for each X in LIST where (COND)``: the sum over the items for which COND holds (all of them without ``where``)."""

    value: Expr
    item: str
    collection: Name
    condition: Expr | None
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ScaleApplied:
    """``SCALE applied to AMOUNT``: a marginal scale's total over its brackets, or the rate or amount of the band a banded scale's amount reaches."""

    scale: Name
    amount: Expr
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


Expr = (
    Literal
    | Name
    | Field
    | Not
    | BoolOp
    | Compare
    | Between
    | Within
    | Today
    | DateDiff
    | Member
    | Test
    | Arith
    | Neg
    | CountOf
    | Over
    | Length
    | Extreme
    | Rounded
    | Conditional
    | Total
    | ScaleApplied
)


# --- declarations ------------------------------------------------------------


@attrs.frozen
class Citation:
    document: str
    section: str
    paragraph: str | None = None
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class PolicyHeader:
    title: str
    version: str | None
    service_name: Name | None
    outcome: Name | None
    priority: Name | None
    reasons: Name | None
    element_outcomes: Name | None
    #: ``results grant, contribution``: the values every decision reports.
    results: tuple[Name, ...] = attrs.field(default=(), kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class DocumentDecl:
    name: str
    title: str
    sections: tuple[str, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class FieldDecl:
    name: str
    type: TypeRef
    means: str | None
    asks: str | None
    #: The value an item has when the field is not given (``default no``): the field is optional.
    default: Literal | None = attrs.field(default=None, kw_only=True)
    #: As a fact's: ``at least VALUE`` and ``may be negative``.
    minimum: Literal | None = attrs.field(default=None, kw_only=True)
    negative: bool = attrs.field(default=False, kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class RecordDecl:
    name: str
    means: str | None
    fields: tuple[FieldDecl, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class FactDecl:
    name: str
    type: TypeRef
    means: str | None
    asks: str | None
    default: Literal | None
    citations: tuple[Citation, ...]
    reference: bool = False
    #: ``at least VALUE``: the least value the fact may have (money is at least £0 without it, unless ``negative``).
    minimum: Literal | None = attrs.field(default=None, kw_only=True)
    #: ``may be negative``: an amount of money that may be below £0.
    negative: bool = attrs.field(default=False, kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ParameterValue:
    value: Literal
    valid_from: date
    valid_until: date | None
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class NoValue:
    """``no value from DATE``: the parameter has no value from that date (until a later value starts)."""

    valid_from: date
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ScaleType:
    """``a marginal scale`` or ``a banded scale of TYPE``: a parameter whose value is a scale (``of`` is the type a band gives)."""

    kind: str  # "marginal" | "banded"
    of: TypeRef | None
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ScaleStep:
    """One ``bracket`` (of a marginal scale) or ``band`` (of a banded one): its dated thresholds, and its dated rates or amounts."""

    kind: str  # "bracket" | "band"
    thresholds: tuple[ParameterValue, ...]
    rates: tuple[ParameterValue, ...]
    amounts: tuple[ParameterValue, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ParameterDecl:
    name: str
    type: TypeRef | ScaleType
    means: str | None
    values: tuple[ParameterValue, ...]
    citations: tuple[Citation, ...]
    #: ``no value from DATE``: the dates from which the parameter has no value.
    ends: tuple[NoValue, ...] = attrs.field(default=(), kw_only=True)
    #: A scale's brackets or bands, in the order written.
    steps: tuple[ScaleStep, ...] = attrs.field(default=(), kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ReasonsSet:
    """``those of a, b, c that hold``: the names of the conditions that hold."""

    members: tuple[Name, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class DefineDecl:
    name: str
    body: Expr | ReasonsSet
    because: str | None
    citations: tuple[Citation, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class ForEach:
    item: str
    collection: Name
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class DecisionDecl:
    name: str
    for_each: ForEach | None
    means: str | None
    outcomes: tuple[Name, ...]
    #: ``decision grant is money``: a decision whose rules conclude a value of this type, not an outcome name.
    value_type: TypeRef | None = attrs.field(default=None, kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class RuleDecl:
    """One rule of a decision: the default (``parent`` is None) or an exception."""

    label: str
    decision: Name
    parent: Name | None
    condition: Expr | None
    conclusion: Expr
    because: str | None
    citations: tuple[Citation, ...]
    #: The first-of table the rule is a row of (its ``otherwise`` included), if any.
    table: str | None = attrs.field(default=None, kw_only=True)
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)

    @property
    def is_default(self) -> bool:
        return self.parent is None


@attrs.frozen
class TableDecl:
    """``table NAME for DECISION, first that applies``: rows tried in order, then ``otherwise``.

    ``rules`` are the rules it means, as the builder writes them: each row an
    exception to the row after it, the last row an exception to ``otherwise``,
    which is the decision's default. The first row that applies therefore
    decides, exactly as the chain of exceptions it replaces.
    """

    name: str
    decision: Name
    rules: tuple[RuleDecl, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)


Declaration = PolicyHeader | DocumentDecl | FactDecl | RecordDecl | ParameterDecl | DefineDecl | DecisionDecl | RuleDecl | TableDecl


@attrs.frozen
class RuleFile:
    path: str
    declarations: tuple[Declaration, ...]
    span: Span = attrs.field(default=NO_SPAN, eq=False, hash=False, repr=False, kw_only=True)
