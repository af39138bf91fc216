"""The symbolic backend: a policy's lowered form as z3 terms over the facts of one service.

Its place: beside the code generator, it is the other reader of
``policy_rules.engine.lowering.Lowered`` (never the AST), so the analyses in
this package reason about exactly what the evaluator runs. ``Encoder`` walks
the lowered rules once and gives, for a ``World`` (the facts of a service as
z3 terms, some of them free), the result the evaluator would reach: the
outcome, the priority, each element outcome, and whether the policy fails
with a conflict, together with which rules apply.

The reading is two-valued: a fact that is not given still has a value (a
*completion* of the missing facts, as ``docs/unknown-facts.md`` defines
needed facts), while ``x is known`` reads whether it was given. Amounts are
exact rationals, whole numbers integers, dates day numbers (``date.toordinal``)
with the calendar (months, anniversaries, short months) written in linear
integer arithmetic, as ``policy_rules.values.dates`` reads it. A conflict is
tracked where the evaluator meets it: ``and``/``or`` and the quantifiers stop
early, and a rule's own condition is read only when none of its exceptions
applies. A division by zero, or a parameter read on a date none of its
periods covers, is an error the evaluator reports; such services are left out
(``World.valid``). A scale applied to an amount is within linear arithmetic:
its thresholds and rates are constants on each date, so it is a piecewise
linear term of the amount (``DatedScale``). A list that is not given has at most ``FREE_ITEMS`` items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import z3
from z3.z3 import _to_expr_ref  # the wrapper z3.substitute itself gives its result: the right class for the sort

from policy_rules.engine import lowering as ir
from policy_rules.language.checker import PolicyModel, parameter_periods, type_from_ref
from policy_rules.values.dates import Period
from policy_rules.values.types import Scale, Type

#: How many items a list that is not given may have in a free world.
FREE_ITEMS = 3

#: Free ``today`` stays in a plausible stretch, so a witness reads as a real case.
TODAY_RANGE = (date(1990, 1, 1).toordinal(), date(2100, 12, 31).toordinal())

NUMERIC_KINDS = {"number", "money", "percentage"}

#: Operators that read dates as dates (their parts); every other reads a date's day number.
DATE_OPERATORS = frozenset({"date +", "date -", "period +", "within", "years from", "months from", "days from"})


class Names:
    """Listed values and outcomes as integer codes, shared by every encoder that is compared (a diff's two versions)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def code(self, name: str) -> int:
        found = self.codes.get(name)
        if found is None:
            found = self.codes[name] = len(self.names)
            self.names.append(name)
        return found


@attrs.define
class Item:
    """One item of a list: each field's value and whether it was given."""

    fields: dict[str, tuple[Any, Any]]


@attrs.define
class SymList:
    """A list of records: its length (a number, or a z3 term for a free list) and its items."""

    length: Any
    items: list[Item]


def _bool(b: Any) -> Any:
    return z3.BoolVal(b) if isinstance(b, bool) else b


def _and(*xs: Any) -> Any:
    parts = [x for x in xs if x is not True]
    if any(x is False for x in parts):
        return False
    if not parts:
        return True
    return parts[0] if len(parts) == 1 else z3.And(*[_bool(p) for p in parts])


def _or(*xs: Any) -> Any:
    parts = [x for x in xs if x is not False]
    if any(x is True for x in parts):
        return True
    if not parts:
        return False
    return parts[0] if len(parts) == 1 else z3.Or(*[_bool(p) for p in parts])


def _not(x: Any) -> Any:
    return (not x) if isinstance(x, bool) else z3.Not(x)


def _if(c: Any, a: Any, b: Any) -> Any:
    if c is True:
        return a
    if c is False:
        return b
    if isinstance(a, Day) and isinstance(b, Day):
        return Day(z3.If(c, a.number, b.number))
    return z3.If(c, _bool(a), _bool(b))


def real(value: Decimal | int) -> z3.ArithRef:
    f = Fraction(value)
    return z3.RealVal(f"{f.numerator}/{f.denominator}")


# --- the calendar in linear integer arithmetic ------------------------------------------------
#
# A date is a ``Day``: its day number (``date.toordinal``), which comparisons
# and day counts read, and, whenever they are at hand, its year, month and day
# of the month, which adding months and counting anniversaries read. A date
# fact is made from its three parts, so the solver never has to split a day
# number into them (``_civil``, the slow way, serves only a date moved by days
# and then by months or counted in months).

_MONTH_STARTS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


@attrs.frozen
class Day:
    number: Any
    parts: tuple[Any, Any, Any] | None = None


def day_of(value: date) -> Day:
    return Day(z3.IntVal(value.toordinal()), (z3.IntVal(value.year), z3.IntVal(value.month), z3.IntVal(value.day)))


def _leap(y: Any) -> Any:
    return z3.And(y % 4 == 0, z3.Or(y % 100 != 0, y % 400 == 0))


def _day_number(y: Any, m: Any, d: Any) -> Any:
    """``date(y, m, d).toordinal()``: the days of the years before, of the months before (a table), and the day."""
    before = y - 1
    start: Any = z3.IntVal(_MONTH_STARTS[11])
    for month in range(11, 0, -1):
        start = z3.If(m == month, _MONTH_STARTS[month - 1], start)
    return before * 365 + before / 4 - before / 100 + before / 400 + start + z3.If(z3.And(m > 2, _leap(y)), 1, 0) + d


def _civil(number: Any) -> tuple[Any, Any, Any]:
    """Year, month, day of a day number (H. Hinnant's civil-from-days, in floor divisions by constants)."""
    z = number + 719468 - 719163
    era = z / 146097
    doe = z - era * 146097
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    mp = (5 * doy + 2) / 153
    d = doy - (153 * mp + 2) / 5 + 1
    m = z3.If(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + z3.If(m <= 2, 1, 0)
    return y, m, d


def _parts(day: Day) -> tuple[Any, Any, Any]:
    return day.parts if day.parts is not None else _civil(day.number)


def _month_days(y: Any, m: Any) -> Any:
    return z3.If(m == 2, z3.If(_leap(y), 29, 28), z3.If(z3.Or(m == 4, m == 6, m == 9, m == 11), 30, 31))


def _add(day: Day, length: Period) -> Day:
    """``day + length``: whole months first (to the last day of a short month), then days, as ``dates.add``."""
    if length.months:
        y, m, d = _parts(day)
        total = y * 12 + m - 1 + length.months
        y2, m2 = total / 12, total % 12 + 1
        last = _month_days(y2, m2)
        d2 = z3.If(d <= last, d, last)
        day = Day(_day_number(y2, m2, d2), (y2, m2, d2))
    if length.days:
        day = Day(day.number + length.days)
    return day


def _months_between(start: Day, end: Day) -> Any:
    """Whole months from ``start`` to ``end``, counted by anniversaries (``dates.whole_months``)."""

    def forward(s: Day, e: Day) -> Any:
        sy, sm, sd = _parts(s)
        ey, em, ed = _parts(e)
        months = (ey - sy) * 12 + em - sm
        # The anniversary in the end's month is after the end exactly when its day is (a short month moves it to the 1st after).
        return months - z3.If(z3.And(months > 0, sd > ed), 1, 0)

    return z3.If(end.number < start.number, -forward(end, start), forward(start, end))


def _years_between(start: Day, end: Day) -> Any:
    months = _months_between(start, end)
    return z3.If(months >= 0, months / 12, -((-months) / 12))


def _before(a: tuple[Any, Any, Any], b: tuple[Any, Any, Any], strict: bool) -> Any:
    """Whether the date of parts ``a`` comes before (or on, unless ``strict``) that of ``b``: year, then month, then day."""
    last = a[2] < b[2] if strict else a[2] <= b[2]
    return z3.Or(a[0] < b[0], z3.And(a[0] == b[0], z3.Or(a[1] < b[1], z3.And(a[1] == b[1], last))))


def _calendar_order(op: str, days: list[Day]) -> Any:
    """A comparison of dates by their parts when all have them, or else by day numbers.

    Dates made from their parts (a date fact, a date moved by months) are
    compared without their day numbers, which the solver would otherwise have
    to tie to the parts through divisions (``_day_number``): proving that two
    conditions on months never hold together stays within the parts.
    """
    if not all(d.parts is not None for d in days):
        numbers = [d.number for d in days]
        return {
            "<": lambda: numbers[0] < numbers[1],
            "<=": lambda: numbers[0] <= numbers[1],
            ">": lambda: numbers[0] > numbers[1],
            ">=": lambda: numbers[0] >= numbers[1],
            "=": lambda: numbers[0] == numbers[1],
            "<>": lambda: numbers[0] != numbers[1],
            "between": lambda: z3.And(numbers[1] <= numbers[0], numbers[0] <= numbers[2]),
        }[op]()
    p = [d.parts for d in days]
    assert all(x is not None for x in p)
    if op == "=":
        return z3.And(*[x == y for x, y in zip(p[0], p[1], strict=True)])  # type: ignore[arg-type]
    if op == "<>":
        return z3.Not(z3.And(*[x == y for x, y in zip(p[0], p[1], strict=True)]))  # type: ignore[arg-type]
    if op == "between":
        return z3.And(_before(p[1], p[0], False), _before(p[0], p[2], False))  # type: ignore[arg-type]
    if op in ("<", "<="):
        return _before(p[0], p[1], op == "<")  # type: ignore[arg-type]
    return _before(p[1], p[0], op == ">")  # type: ignore[arg-type]


def atoms(value: Any) -> list[Any]:
    """The solver's variables behind a value of a world: a date's three parts, or the value itself."""
    if isinstance(value, Day):
        return list(value.parts or (value.number,))
    return [value]


# --- worlds: the facts of a service as terms ---------------------------------------------


@attrs.define
class World:
    """The facts of one service as terms: each fact's value and whether it was given, and the date of the decision.

    ``variables`` maps each free variable's name as an officer reads it
    (``budget``, ``elements[1].specialist``) to ``(value, given)``, for
    witnesses and for needed facts. ``valid`` are the constraints every
    service must meet (listed values among those declared, dates in range).
    """

    facts: dict[str, tuple[Any, Any]]
    today: Any
    variables: dict[str, tuple[Any, Any]] = attrs.Factory(dict)
    valid: list[Any] = attrs.Factory(list)
    #: What a witness should meet when it can, to read as a real case: dates from 1900 to 2100.
    plausible: list[Any] = attrs.Factory(list)


def field_types(model: PolicyModel, record: str | None) -> dict[str, Type]:
    decl = model.records.get(record or "")
    return {f.name: type_from_ref(f.type) for f in decl.fields} if decl else {}


def field_defaults(model: PolicyModel, record: str | None) -> dict[str, Any]:
    decl = model.records.get(record or "")
    return {f.name: f.default.value for f in decl.fields if f.default is not None} if decl else {}


class WorldBuilder:
    """Makes the terms of a world: constants for facts given, fresh variables for the others."""

    def __init__(self, model: PolicyModel, names: Names, prefix: str) -> None:
        self.model = model
        self.names = names
        self.prefix = prefix
        self.world = World({}, None)
        self.decimals = False

    def variable(self, label: str, kind: Type) -> Any:
        name = self.prefix + label
        if kind.kind == "yes/no":
            return z3.Bool(name)
        if kind.kind in NUMERIC_KINDS:
            v = z3.Real(name)
            if self.decimals:
                self.world.valid.append(z3.IsInt(v * (10_000 if kind.kind == "percentage" else 100)))
            return v
        if kind.kind == "text":
            return z3.String(name)
        if kind.kind == "date":
            y, m, d = z3.Int(name + "#year"), z3.Int(name + "#month"), z3.Int(name + "#day")
            self.world.valid.append(z3.And(y >= 1, y <= 9999, m >= 1, m <= 12, d >= 1, d <= _month_days(y, m)))
            self.world.plausible.append(z3.And(y >= 1900, y <= 2100))
            return Day(_day_number(y, m, d), (y, m, d))
        v = z3.Int(name)
        if kind.kind == "one of":
            self.world.valid.append(z3.Or(*[v == self.names.code(x) for x in kind.values]))
        return v

    def constant(self, value: Any, kind: Type) -> Any:
        """A value given: yes/no and listed values stay Python values, so the encoder folds what they settle."""
        if kind.kind == "yes/no":
            return bool(value)
        if kind.kind in NUMERIC_KINDS:
            return real(value)
        if kind.kind == "text":
            return z3.StringVal(str(value))
        if kind.kind == "date":
            return day_of(value)
        if kind.kind == "one of":
            return self.names.code(str(value))
        return z3.IntVal(int(value))

    def free_value(self, label: str, kind: Type, given: Any, bound: str | None = None) -> Any:
        """A variable for a fact or field; ``bound`` names it in ``PolicyModel.minimums``, so that it never goes below its least value."""
        v = self.variable(label, kind)
        self.world.variables[label] = (v, given)
        minimum = self.model.minimums.get(bound) if bound is not None else None
        if minimum is not None:
            self.world.valid.append(v >= real(minimum[0]))
        return v

    def free_list(self, name: str, record: str | None, items: int, given: Any) -> SymList:
        length = z3.Int(f"{self.prefix}{name}#length")
        self.world.valid.append(z3.And(length >= 0, length <= items))
        self.world.variables[f"{name}#length"] = (length, given)
        types, defaults = field_types(self.model, record), field_defaults(self.model, record)
        out = []
        for i in range(items):
            fields = {}
            for field, ft in types.items():
                label = f"{name}[{i}].{field}"
                known = True if field in defaults else z3.Bool(f"{self.prefix}{label}#given")
                fields[field] = (self.free_value(label, ft, known, f"{record}.{field}"), known)
                if known is not True:
                    self.world.variables[f"{label}#given"] = (known, True)
            out.append(Item(fields))
        return SymList(length, out)

    def given_list(self, name: str, record: str | None, items: Iterable[Mapping[str, Any]]) -> SymList:
        types = field_types(self.model, record)
        out = []
        for i, item in enumerate(items):
            fields = {}
            for field, ft in types.items():
                if field in item:
                    fields[field] = (self.constant(item[field], ft), True)
                else:
                    fields[field] = (self.free_value(f"{name}[{i}].{field}", ft, False, f"{record}.{field}"), False)
            out.append(Item(fields))
        return SymList(len(out), out)


def free_world(
    model: PolicyModel, names: Names, prefix: str, *, items: int = FREE_ITEMS, today: date | None = None, all_given: bool = False, decimals: bool = False
) -> World:
    """A world in which every fact is free: its value, and (unless it has a default or ``all_given``) whether it was given.

    With ``decimals``, amounts and numbers have at most two decimal places and
    percentages are whole hundredths of a percent, so that a service found
    here is written exactly in a facts file.
    """
    b = WorldBuilder(model, names, prefix)
    b.decimals = decimals
    for name, decl in model.facts.items():
        kind = model.fact_types[name]
        given: Any = True if (all_given or decl.default is not None) else z3.Bool(f"{prefix}{name}#given")
        if given is not True:
            b.world.variables[f"{name}#given"] = (given, True)
        if kind.kind == "list":
            b.world.facts[name] = (b.free_list(name, kind.record, items, given), given)
        else:
            b.world.facts[name] = (b.free_value(name, kind, given, name), given)
    if today is None:
        t = b.variable("#today", Type("date"))
        b.world.valid.append(z3.And(t.number >= TODAY_RANGE[0], t.number <= TODAY_RANGE[1]))
        b.world.variables["#today"] = (t, True)
        b.world.today = t
    else:
        b.world.today = day_of(today)
    return b.world


def partial_world(model: PolicyModel, names: Names, prefix: str, facts: Mapping[str, Any], as_of: date) -> World | None:
    """The world of a service's typed facts: the given ones constants, each missing one a variable.

    None when a list is missing and has no default: its items cannot be
    enumerated, and the symbolic answer would not be exact.
    """
    b = WorldBuilder(model, names, prefix)
    for name in model.facts:
        kind = model.fact_types[name]
        if name in facts:
            value = facts[name]
            if kind.kind == "list":
                b.world.facts[name] = (b.given_list(name, kind.record, value), True)
            else:
                b.world.facts[name] = (b.constant(value, kind), True)
        elif kind.kind == "list":
            return None
        else:
            b.world.facts[name] = (b.free_value(name, kind, False, name), False)
    b.world.today = day_of(as_of)
    return b.world


# --- the encoder ----------------------------------------------------------------------------


@attrs.define
class Outcome:
    """What the evaluator would reach in a world: each value a term; ``conflict`` true when the policy fails with a conflict."""

    conflict: Any
    outcome: Any
    priority: Any
    elements: list[tuple[Any, Any]]  # (present, outcome) for each possible item
    #: The header's results, each a term.
    values: list[Any] = attrs.Factory(list)


@attrs.define
class Ruled:
    applies: Any
    value: Any
    conflict: Any


class Encoder:
    """The terms of one policy in one world. Values are worked out once (defined values, decisions) as the evaluator memoises them."""

    def __init__(self, lowered: ir.Lowered, world: World, names: Names, parameters: Mapping[str, Any] | None = None, *, dated_reads: bool = False) -> None:
        self.lowered = lowered
        #: With ``dated_reads``, a parameter read on a date none of its periods covers is not ruled out of the world: it fails
        #: where the evaluator reaches it, as a conflict does, through a variable of its own (``outside``, with its meaning).
        self.dated_reads = dated_reads
        self.outside: list[tuple[Any, Any, ir.Read]] = []
        self.model = lowered.model
        self.world = world
        self.names = names
        self.valid: list[Any] = []
        self.defines: dict[str, tuple[Any, Any]] = {}
        self.decisions: dict[tuple[str, int | None], tuple[Any, Any]] = {}
        #: Every rule's ``Ruled`` per item index (None for a decision not made per item): which rules apply.
        self.rules: dict[tuple[str, int | None], Ruled] = {}
        #: Each rule's own condition, as read when none of its exceptions applies.
        self.own: dict[tuple[str, int | None], Any] = {}
        #: The scope each rule was read in, and each rule by its label, to read a condition again (``findings``).
        self.scopes: dict[tuple[str, int | None], dict[str, Any]] = {}
        self.rule_nodes: dict[str, ir.Rule] = {}
        #: Expressions (by ``id``) read as a fixed value instead: a part of a condition left out.
        self.replace: dict[int, Any] = {}
        self.parameters = parameters if parameters is not None else {name: parameter_periods(p) for name, p in self.model.parameters.items()}

    # --- values ---------------------------------------------------------------------------

    def const(self, e: ir.Const) -> Any:
        value = self.lowered.constants[e.index]
        if isinstance(value, bool):
            return value
        if isinstance(value, Decimal | int):
            return real(value)
        if isinstance(value, date):
            return day_of(value)
        if isinstance(value, Period):
            return value
        if isinstance(value, str):
            kind = self.model.type_of(e.source).kind if e.source is not None else "one of"
            return z3.StringVal(value) if kind == "text" else self.names.code(value)
        if value == ():
            return SymList(0, [])
        raise AssertionError(f"no term for the constant {value!r}")

    def read(self, slot: ir.Slot, scope: dict[str, Any]) -> tuple[Any, Any]:
        kind = slot.kind
        if kind == "fact":
            return self.world.facts[slot.name][0], False
        if kind == "field":
            return scope[slot.item or ""][1].fields[slot.name][0], False
        if kind == "item":
            return scope[slot.name], False
        if kind == "today":
            return self.world.today, False
        if kind == "parameter":
            return self.parameter(slot.name), False
        if kind == "define":
            return self.define(slot.name)
        if kind == "decision":
            return self.decision(slot.name, None)
        if kind == "item decision":
            items, item = scope[slot.item or ""]
            index = next(i for i, x in enumerate(items.items) if x is item)
            per_item = self.lowered.decisions[slot.name].per_item
            assert per_item is not None
            return self.decision(slot.name, index, {per_item[0]: (items, item)})
        raise AssertionError(f"no read of a {kind}")

    def parameter(self, name: str) -> Any:
        value, covered = self.parameter_and_cover(name)
        self.valid.append(covered)
        return value

    def parameter_and_cover(self, name: str) -> tuple[Any, Any]:
        """A parameter's value in the world, and the term saying the world's date is inside one of its periods."""
        kind = self.model.name_types[name]
        builder = WorldBuilder(self.model, self.names, "")
        today = self.world.today
        value: Any = None
        covered: list[Any] = []
        dated: list[tuple[Any, Scale]] = []
        for start, until, v in reversed(self.parameters[name]):
            inside = z3.And(today.number >= start.toordinal(), *([today.number <= until.toordinal()] if until else []))
            covered.append(inside)
            if isinstance(v, Scale):
                dated.insert(0, (inside, v))
                continue
            c = builder.constant(v, kind)
            value = c if value is None else _if(inside, c, value)
        return (DatedScale(tuple(dated)) if dated else value), z3.Or(*covered)

    def define(self, name: str) -> tuple[Any, Any]:
        found = self.defines.get(name)
        if found is None:
            body = self.lowered.defines[name].body
            if isinstance(body, ir.Reasons):
                parts = [self.expr(x, {}) for _i, x in body.members]
                found = (tuple(v for v, _c in parts), _or(*(c for _v, c in parts)))
            else:
                found = self.expr(body, {})
            self.defines[name] = found
        return found

    def decision(self, name: str, index: int | None, scope: dict[str, Any] | None = None) -> tuple[Any, Any]:
        key = (name, index)
        found = self.decisions.get(key)
        if found is None:
            decision = self.lowered.decisions[name]
            ruled = self.rule(decision.root, scope or {}, index)
            found = self.decisions[key] = (ruled.value, ruled.conflict)
        return found

    def rule(self, rule: ir.Rule, scope: dict[str, Any], index: int | None) -> Ruled:
        """A rule as ``Env.rule`` reads it: every exception tried, two that apply with different values a conflict, else its own condition."""
        children = [self.rule(child, scope, index) for child in rule.exceptions]
        conflict = _or(*(c.conflict for c in children))
        for i, a in enumerate(children):
            for b in children[i + 1 :]:
                conflict = _or(conflict, _and(a.applies, b.applies, not_equal(a.value, b.value)))
        any_applied = _or(*(c.applies for c in children))
        if rule.condition is not None:
            holds, c_holds = self.expr(rule.condition.whole, scope)
        else:
            holds, c_holds = True, False
        conclusion, c_conclusion = self.expr(rule.conclusion, scope)
        self.own[(rule.label, index)] = holds
        self.scopes[(rule.label, index)] = scope
        self.rule_nodes[rule.label] = rule
        conflict = _or(conflict, _and(_not(any_applied), _or(c_holds, _and(holds, c_conclusion))))
        value = conclusion
        for child in reversed(children):
            value = _if(child.applies, child.value, value)
        ruled = Ruled(_or(any_applied, holds), value, conflict)
        self.rules[(rule.label, index)] = ruled
        return ruled

    def element_list(self) -> SymList | None:
        name = self.model.element_outcomes
        if not name:
            return None
        per_item = self.lowered.decisions[name].per_item
        assert per_item is not None
        return self.world.facts[per_item[1].name][0]

    def result(self) -> Outcome:
        """The evaluator's result in this world: outcome, then priority, then each element (``_results``)."""
        model = self.model
        conflict: Any = False
        outcome: Any = -1
        priority: Any = -1
        if model.outcome:
            outcome, c = self.decision(model.outcome, None)
            conflict = _or(conflict, c)
        if model.priority:
            priority, c = self.decision(model.priority, None)
            conflict = _or(conflict, c)
        elements = []
        items = self.element_list()
        if items is not None and model.element_outcomes:
            item_name = self.lowered.decisions[model.element_outcomes].per_item[0]  # type: ignore[index]
            for i, item in enumerate(items.items):
                present = _lt(i, items.length)
                value, c = self.decision(model.element_outcomes, i, {item_name: (items, item)})
                conflict = _or(conflict, _and(present, c))
                elements.append((present, value))
        values = []
        for name in model.results:
            value, c = self.define(name) if name in self.lowered.defines else self.decision(name, None)
            conflict = _or(conflict, c)
            values.append(value)
        return Outcome(conflict, outcome, priority, elements, values)

    # --- expressions --------------------------------------------------------------------------

    def expr(self, e: ir.Expr, scope: dict[str, Any]) -> tuple[Any, Any]:
        """The value of an expression and whether working it out meets a conflict."""
        if self.replace and id(e) in self.replace:
            return self.replace[id(e)], False
        if isinstance(e, ir.Const):
            return self.const(e), False
        if isinstance(e, ir.Read) and e.slot.kind == "parameter" and self.dated_reads:
            value, covered = self.parameter_and_cover(e.slot.name)
            failed = z3.Bool(f"outside!{len(self.outside)}")
            self.outside.append((failed, z3.Not(covered), e))
            return value, failed
        if isinstance(e, ir.Read):
            return self.read(e.slot, scope)
        if isinstance(e, ir.Known):
            if e.slot.kind == "field":
                given = scope[e.slot.item or ""][1].fields[e.slot.name][1]
            else:
                given = self.world.facts[e.slot.name][1]
            return (_not(given) if e.negated else given), False
        if isinstance(e, ir.Logic):
            parts = [self.expr(x, scope) for x in e.operands]
            conflict: Any = False
            reached: Any = True
            for v, c in parts:
                conflict = _or(conflict, _and(reached, c))
                reached = _and(reached, v if e.op == "and" else _not(v))
            values = [v for v, _c in parts]
            return (_and(*values) if e.op == "and" else _or(*values)), conflict
        if isinstance(e, ir.Apply):
            return self.apply(e, scope)
        if isinstance(e, ir.Quantify):
            return self.quantify(e, scope)
        if isinstance(e, ir.CountOf):
            return self.count_of(e, scope)
        if isinstance(e, ir.Choose):
            (c, cc), (a, ca), (b, cb) = (self.expr(x, scope) for x in (e.condition, e.then, e.otherwise))
            return _if(c, a, b), _or(cc, _and(c, ca), _and(_not(c), cb))
        if isinstance(e, ir.Total):
            return self.total(e, scope)
        raise AssertionError(f"no term for {type(e).__name__}")

    def total(self, e: ir.Total, scope: dict[str, Any]) -> tuple[Any, Any]:
        """``total of A for each x in L where C``: the sum of ``A`` over the items present for which ``C`` holds."""
        items, _c = self.read(e.collection, scope)
        total: Any = real(0)
        conflict: Any = False
        for i, item in enumerate(items.items):
            inner = {**scope, e.item: (items, item)}
            holds, ch = self.expr(e.condition, inner) if e.condition is not None else (True, False)
            value, cv = self.expr(e.value, inner)
            present = _and(_lt(i, items.length), holds)
            total = total + _if(present, _real(value), real(0))
            conflict = _or(conflict, _and(_lt(i, items.length), ch), _and(present, cv))
        return total, conflict

    def quantify(self, e: ir.Quantify, scope: dict[str, Any]) -> tuple[Any, Any]:
        items, _c = self.read(e.collection, scope)
        parts = []
        for item in items.items:
            parts.append(self.expr(e.condition, {**scope, e.item: (items, item)}))
        present = [_lt(i, items.length) for i in range(len(items.items))]
        if e.quantifier == "count":
            count: Any = z3.IntVal(0)
            for p, (v, _c) in zip(present, parts, strict=True):
                count = count + _if(_and(p, v), 1, 0)
            return z3.ToReal(count), _or(*(_and(p, c) for p, (_v, c) in zip(present, parts, strict=True)))
        stop_on = e.quantifier != "every"  # any/no stop at the first item that holds, every at the first that does not
        conflict: Any = False
        reached: Any = True
        for p, (v, c) in zip(present, parts, strict=True):
            conflict = _or(conflict, _and(reached, p, c))
            reached = _and(reached, _or(_not(p), _not(v) if stop_on else v))
        if e.quantifier == "every":
            return _and(*(_or(_not(p), v) for p, (v, _c) in zip(present, parts, strict=True))), conflict
        found = _or(*(_and(p, v) for p, (v, _c) in zip(present, parts, strict=True)))
        return (found if e.quantifier == "any" else _not(found)), conflict

    def count_of(self, e: ir.CountOf, scope: dict[str, Any]) -> tuple[Any, Any]:
        parts = [self.expr(x, scope) for x in e.conditions]
        values = [v for v, _c in parts]
        conflict: Any = _or(*(c for _v, c in parts))
        if e.reasons is not None:
            conflict = _or(conflict, self.define(e.reasons.name)[1])
        if e.quantifier == "any" or (e.quantifier == "at_least" and e.at_least == 1):
            return _or(*values), conflict
        if e.quantifier == "all":
            return _and(*values), conflict
        if e.quantifier == "none":
            return _not(_or(*values)), conflict
        total = z3.Sum(*[_if(v, z3.IntVal(1), z3.IntVal(0)) for v in values]) if values else z3.IntVal(0)
        return total >= e.at_least, conflict

    def apply(self, e: ir.Apply, scope: dict[str, Any]) -> tuple[Any, Any]:
        parts = [self.expr(x, scope) for x in e.operands]
        conflict = _or(*(c for _v, c in parts))
        xs = [v for v, _c in parts]
        return self.operate(e.op, xs), conflict

    def operate(self, op: str, xs: list[Any]) -> Any:
        if op in ("<", "<=", ">", ">=", "=", "<>", "between") and all(isinstance(x, Day) and x.parts is not None for x in xs):
            return _calendar_order(op, xs)
        if op not in DATE_OPERATORS:
            xs = [x.number if isinstance(x, Day) else x for x in xs]
        if op == "not":
            return _not(xs[0])
        if op in ("=", "<>"):
            eq = _eq(xs[0], xs[1])
            return eq if op == "=" else _not(eq)
        if op in ("<", "<=", ">", ">="):
            a, b = _numeric(xs[0], xs[1])
            folded = _fold(op, a, b)
            if folded is not None:
                return folded
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if op == "between":
            a, lo = _numeric(xs[0], xs[1])
            a2, hi = _numeric(xs[0], xs[2])
            return z3.And(lo <= a, a2 <= hi)
        if op in ("in", "not in"):
            found = _or(*(_eq(xs[0], x) for x in xs[1:]))
            return found if op == "in" else _not(found)
        if op == "empty":
            return _list_empty(xs[0])
        if op == "not empty":
            return _not(_list_empty(xs[0]))
        if op == "length":
            return z3.ToReal(z3.IntVal(xs[0].length)) if isinstance(xs[0].length, int) else z3.ToReal(xs[0].length)
        if op == "neg":
            return -xs[0]
        if op == "scale":
            return xs[0].applied(_real(xs[1]))
        if op in ("greater", "smaller"):
            best = xs[0]
            for x in xs[1:]:
                a, b = _numeric(best, x)
                best = _if(b > a, b, a) if op == "greater" else _if(b < a, b, a)
            return best
        if op.startswith("rounded "):
            return _rounded(_real(xs[0]), op)
        if op in ("+", "-", "*", "/"):
            a, b = _numeric(xs[0], xs[1])
            if op == "/":
                a, b = _real(a), _real(b)
                self.valid.append(b != 0)
                return a / b
            return {"+": a + b, "-": a - b, "*": a * b}[op]
        if op == "date +":
            return _add(xs[0], xs[1])
        if op == "date -":
            return _add(xs[0], Period(-xs[1].months, -xs[1].days))
        if op == "period +":
            return _add(xs[1], xs[0])
        if op == "within":
            day, length, centre = xs
            return _calendar_order("between", [day, _add(centre, Period(-length.months, -length.days)), _add(centre, length)])
        if op == "years from":
            return z3.ToReal(_years_between(xs[0], xs[1]))
        if op == "months from":
            return z3.ToReal(_months_between(xs[0], xs[1]))
        if op == "days from":
            return z3.ToReal(xs[1].number - xs[0].number)
        raise AssertionError(f"no term for the operator {op}")


@attrs.frozen
class DatedScale:
    """A scale parameter in a world: each of its values with the term saying ``today`` is in its period (one of them holds in a valid world)."""

    periods: tuple[tuple[Any, Scale], ...]

    def applied(self, x: Any) -> Any:
        """``scale applied to x`` as a term: piecewise linear in ``x`` (brackets and bands have constant thresholds and rates), as ``engine.scales``."""
        value: Any = None
        for inside, scale in reversed(self.periods):
            term = _scale_term(scale, x)
            value = term if value is None else _if(inside, term, value)
        return value


def _scale_term(scale: Scale, x: Any) -> Any:
    if scale.kind == "banded":
        value: Any = real(scale.values[0])
        for threshold, v in zip(scale.thresholds[1:], scale.values[1:], strict=True):
            value = z3.If(x >= real(threshold), real(v), value)
        return value
    total: Any = real(0)
    tops = (*scale.thresholds[1:], None)
    for threshold, top, rate in zip(scale.thresholds, tops, scale.values, strict=True):
        t = real(threshold)
        part = x - t if top is None else z3.If(x < real(top), x - t, real(top) - t)
        total = total + real(rate) * z3.If(x <= t, real(0), part)
    return total


def _rounded(x: Any, op: str) -> Any:
    """``x rounded ...`` as a term: to the penny or to a whole unit, down, up, or to the nearest (a half away from zero), as ``engine.amounts``."""
    unit = real(Decimal("0.01")) if op.endswith("penny") else real(1)
    steps = x / unit
    if op.startswith("rounded down"):
        whole = z3.ToReal(z3.ToInt(steps))
    elif op.startswith("rounded up"):
        whole = -z3.ToReal(z3.ToInt(-steps))
    else:
        half = real(Decimal("0.5"))
        whole = z3.If(steps >= 0, z3.ToReal(z3.ToInt(steps + half)), -z3.ToReal(z3.ToInt(-steps + half)))
    return whole * unit


def _real(x: Any) -> Any:
    return z3.ToReal(x) if z3.is_int(x) else x


def _fold(op: str, a: Any, b: Any) -> Any:
    """A comparison of two numbers already known, worked out here rather than left to the solver."""
    if (z3.is_rational_value(a) and z3.is_rational_value(b)) or (z3.is_int_value(a) and z3.is_int_value(b)):
        x, y = Fraction(a.as_fraction()) if z3.is_rational_value(a) else a.as_long(), Fraction(b.as_fraction()) if z3.is_rational_value(b) else b.as_long()
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "=": x == y}[op]
    return None


def _numeric(a: Any, b: Any) -> tuple[Any, Any]:
    if z3.is_int(a) and z3.is_real(b):
        return z3.ToReal(a), b
    if z3.is_real(a) and z3.is_int(b):
        return a, z3.ToReal(b)
    return a, b


def _eq(a: Any, b: Any) -> Any:
    if isinstance(a, SymList) or isinstance(b, SymList):
        lists = [x for x in (a, b) if isinstance(x, SymList)]
        if len(lists) == 1 or lists[1].items == []:
            return _list_empty(lists[0])
        raise AssertionError("lists are compared only with `empty`")
    a, b = _numeric(a, b)
    folded = _fold("=", a, b) if z3.is_expr(a) and z3.is_expr(b) else None
    return folded if folded is not None else a == b


def not_equal(a: Any, b: Any) -> Any:
    """Whether two values differ: a Python bool when both are known here, else a term."""
    return _not(_eq(a, b))


def _lt(i: int, length: Any) -> Any:
    return i < length if isinstance(length, int) else length > i


def _list_empty(items: SymList) -> Any:
    return items.length == 0


def same_result(a: Outcome, b: Outcome) -> Any:
    """Whether two results are the same: both conflicts, or neither and every value equal (a conflict is a conflict, whichever rules)."""
    values = [_eq(a.outcome, b.outcome), _eq(a.priority, b.priority)]
    for (pa, va), (pb, vb) in zip(a.elements, b.elements, strict=True):
        values.append(_eq(pa, pb))
        values.append(_or(_not(_and(pa, pb)), _eq(va, vb)))
    values.extend(_eq(va, vb) for va, vb in zip(a.values, b.values, strict=False))  # two versions of a policy may report other results
    return _bool(_or(_and(a.conflict, b.conflict), _and(_not(a.conflict), _not(b.conflict), *values)))


def terms(r: Outcome) -> list[Any]:
    """Every term of a result, in a fixed order (for ``renamed``)."""
    out = [r.conflict, r.outcome, r.priority]
    for present, value in r.elements:
        out.extend((present, value))
    out.extend(r.values)
    return out


class Substitution:
    """``pairs`` (each variable, the variable of the same sort to put in its place) applied to many terms, in z3's C code.

    ``z3.substitute`` checks and copies every pair in Python on each call; a
    result of a long list has a term per item, each over every item's
    variables, so the arrays of the pairs are built once here and reused.
    """

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        assert all(a.sort().eq(b.sort()) for a, b in pairs), "a variable can only be replaced by one of its own sort"
        self._pairs = pairs  # the arrays below hold pointers into these expressions: keep them alive
        self._sources = (z3.Ast * len(pairs))(*(a.as_ast() for a, _b in pairs))
        self._targets = (z3.Ast * len(pairs))(*(b.as_ast() for _a, b in pairs))

    def __call__(self, x: Any) -> Any:
        if not z3.is_expr(x) or not self._pairs:
            return x
        return _to_expr_ref(z3.Z3_substitute(x.ctx_ref(), x.as_ast(), len(self._pairs), self._sources, self._targets), x.ctx)


def renamed(r: Outcome, pairs: list[tuple[Any, Any]] | Substitution) -> Outcome:
    """The same result over other variables: each term with ``pairs`` substituted (in z3's C code, not rebuilt in Python)."""
    sub = pairs if isinstance(pairs, Substitution) else Substitution(pairs)
    return Outcome(sub(r.conflict), sub(r.outcome), sub(r.priority), [(sub(p), sub(v)) for p, v in r.elements], [sub(v) for v in r.values])


# --- reading a service back from a model ------------------------------------------------------


def _value_of(m: z3.ModelRef, term: Any, kind: Type, names: Names) -> Any:
    """The typed value (as ``engine.facts.validate`` gives it) of a term in a model."""
    if not z3.is_expr(term) and not isinstance(term, Day):  # a value given, kept as a Python value (``WorldBuilder.constant``)
        return names.names[term] if kind.kind == "one of" else term
    if isinstance(term, Day):
        return date.fromordinal(m.eval(term.number, model_completion=True).as_long())
    v = m.eval(term, model_completion=True)
    if kind.kind == "yes/no":
        return z3.is_true(v)
    if kind.kind in NUMERIC_KINDS:
        f = Fraction(v.as_fraction()) if z3.is_rational_value(v) else Fraction(v.approx(20).as_fraction())
        return Decimal(f.numerator) / Decimal(f.denominator)
    if kind.kind == "whole number":
        return Decimal(v.as_long())
    if kind.kind == "date":
        return date.fromordinal(v.as_long())
    if kind.kind == "text":
        return v.as_string()
    if kind.kind == "one of":
        return names.names[v.as_long()]
    raise AssertionError(f"no value of a {kind}")


def service_of(m: z3.ModelRef, world: World, model: PolicyModel, names: Names, *, completed: bool = False) -> tuple[dict[str, Any], date]:
    """The typed facts of the service a model describes, and its date; facts not given are left out unless ``completed``."""
    facts: dict[str, Any] = {}
    for name, (value, given) in world.facts.items():
        kind = model.fact_types[name]
        if not completed and not z3.is_true(m.eval(_bool(given), model_completion=True)):
            continue
        if isinstance(value, SymList):
            length = value.length if isinstance(value.length, int) else m.eval(value.length, model_completion=True).as_long()
            types = field_types(model, kind.record)
            items = []
            for item in value.items[:length]:
                record = {}
                for field, (term, known) in item.fields.items():
                    if completed or z3.is_true(m.eval(_bool(known), model_completion=True)):
                        record[field] = _value_of(m, term, types[field], names)
                items.append(record)
            facts[name] = tuple(items)
        else:
            facts[name] = _value_of(m, value, kind, names)
    today = date.fromordinal(m.eval(world.today.number, model_completion=True).as_long())
    return facts, today


def preferences(world: World, name: str) -> tuple[z3.BoolRef, list[Any]]:
    """A literal that, assumed, asks for a witness with every fact given and plausible dates, and the constraints it implies."""
    literal = z3.Bool(f"{name}!preferred")
    given = [g for label, (g, _t) in world.variables.items() if label.endswith("#given")]
    return literal, [z3.Implies(literal, z3.And(*given, *world.plausible))]
