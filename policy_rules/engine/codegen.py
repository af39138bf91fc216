"""One code generator over the lowered policy, with a mode for each way a decision is worked out.

``CodeGenerator`` walks the lowered form (``engine.lowering``) and writes
Python source, as Jinja2's ``CodeGenerator`` does for templates. The meaning of
every expression form and of default logic (which rule applies, exceptions
overriding their rule, two exceptions applying at once) is written here once.
What differs between modes is only how a name is read and what is recorded:

* ``TwoValued`` (mode ``two_valued``): every fact is known; names are locals
  read up front (facts by the reading prologue of ``policy_function``), nothing is
  recorded. This is what decides a service without its trace.
* ``Traced`` (mode ``traced``): the same logic, evaluated as lazily as the
  reference evaluator, and each read and rule event recorded through helpers
  (``traced_function._runtime``), so the explanation is the reference's, event for
  event. Tracing wraps reads and rule events, not each form.

* ``ThreeValued`` (mode ``three_valued``): facts may be unknown (Kleene's
  logic), for services with facts missing and the search for the facts still
  needed: one function of the evaluation ``Env`` for each defined value, rule
  condition and conclusion, reading through the ``Env``'s hooks
  (``compiler`` assembles them). An ``Apply`` is unknown when any operand is,
  written once; only ``and``/``or``, membership, ``is known``, the quantifiers
  and ``at least N of`` say more. It is the reference the other modes are
  tested against, and is itself tested against an interpreter written apart
  (``tests/form_corpus.Oracle``).

Generated source holds numbered names and indexes into a table of constants
only: no text of a rule file ever becomes source. What only the reference
handles (a conflict between exceptions, a division by zero, a parameter with no
value on the date, a fact or field not given) raises ``CannotDecide``, and only
that; any other exception from generated code is a bug and propagates.
"""

from __future__ import annotations

import abc
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from policy_rules.engine import amounts
from policy_rules.engine import lowering as ir
from policy_rules.engine.lowering import Lowered
from policy_rules.values import dates

#: ``columnar`` (a batch of rows as Arrow columns) is written by ``engine.columnar`` from the same lowered form.
MODES = ("two_valued", "traced", "columnar")


class CannotDecide(Exception):
    """Raised by generated code only, when the facts need the reference path (a conflict, a division by zero, a parameter with no value)."""


def _give_up(error: Exception) -> Any:
    raise CannotDecide from error


#: The calendar's helpers for the modes that leave a date outside the calendar to the reference, which says where it arose.
DATES_OR_GIVE_UP = dates.refusing(_give_up)
#: Operators whose result is a date, which a rule's arithmetic can push outside the calendar.
CALENDAR_OPS = frozenset({"date +", "date -", "period +"})


#: Python for each operator of ``ir.Apply``; ``{0}``, ``{1}`` are the operands as written by the generator.
APPLY = {
    "=": "({0} == {1})",
    "<>": "({0} != {1})",
    "<": "({0} < {1})",
    "<=": "({0} <= {1})",
    ">": "({0} > {1})",
    ">=": "({0} >= {1})",
    "between": "(lambda x0, x1, x2: x1 <= x0 <= x2)({0}, {1}, {2})",  # the operands read in their written order, as every form reads them
    "within": "WITHIN({0}, {1}, {2})",
    "years from": "D(YEARS_FROM({0}, {1}))",
    "months from": "D(MONTHS_FROM({0}, {1}))",
    "days from": "D(DAYS_FROM({0}, {1}))",
    "date +": "DATE_ADD({0}, {1})",
    "date -": "DATE_SUB({0}, {1})",
    "period +": "DATE_ADD({1}, {0})",
    "+": "({0} + {1})",
    "-": "({0} - {1})",
    "*": "({0} * {1})",
    "/": "DIV({0}, {1})",
    "neg": "(-{0})",
    "not": "(not {0})",
    "empty": "(len({0}) == 0)",
    "not empty": "(len({0}) != 0)",
    "length": "D(len({0}))",
    "scale": "SCALE({0}, {1})",
    **{
        f"rounded {direction} {unit}": f"ROUND({{0}}, {exponent!r}, {rounding!r})"
        for direction, rounding in amounts.DIRECTIONS.items()
        for unit, exponent in amounts.UNITS.items()
    },
}
#: Operators that take any number of operands (``the greater of [A, B, C]``): the helper each calls, with all of them.
VARIADIC = {"greater": "GREATER", "smaller": "SMALLER"}


def applied(op: str, operands: Sequence[str]) -> str:
    """Python applying operator ``op`` of ``ir.Apply`` to operands already written.

    ``between`` reads its operands in their written order through a lambda;
    when the value and the lower bound are plain variables (nothing to run,
    nothing that can fail), the chained comparison reads them in that same
    order without the call, which a register pays for on every case.
    """
    if op in VARIADIC:
        return f"{VARIADIC[op]}({', '.join(operands)})"
    if op == "between" and all(x.isidentifier() for x in operands[:2]):
        return f"({operands[1]} <= {operands[0]} <= {operands[2]})"
    return APPLY[op].format(*operands)


#: Operators whose first operand takes part in arithmetic (``TwoValued`` computes in ``Decimal``, as the reference does).
ARITHMETIC = frozenset({"+", "-", "*", "/", "neg"})


@attrs.frozen
class Ruled:
    """Where the statements for one rule leave its value (``NONE`` when it does not apply), the rule that decided, and its event."""

    value: str
    decider: str
    event: str | None = None


class CodeGenerator(abc.ABC):
    """The visitor: expressions and default logic, written once; subclasses say how names are read and what is recorded."""

    #: Whether reads and rule events are recorded (and evaluation kept as lazy as the reference's).
    records = False

    def __init__(self, lowered: Lowered) -> None:
        self.lowered = lowered
        self.model = lowered.model
        self.constants: list[Any] = []
        self.constant_index: dict[tuple[type, Any], int] = {}
        self.lines: list[str] = []
        self.counter = 0

    # --- output --------------------------------------------------------------------

    def const(self, value: Any) -> str:
        """A constant, kept once in the table, by its index."""
        key = (type(value), value)
        index = self.constant_index.get(key)
        if index is None:
            index = len(self.constants)
            self.constants.append(value)
            self.constant_index[key] = index
        return self.constant_name(index)

    def constant_name(self, index: int) -> str:
        return f"K[{index}]"

    def constant(self, index: int) -> str:
        """A constant of the lowered policy's table."""
        return self.const(self.lowered.constants[index])

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    # --- expressions ------------------------------------------------------------------

    def expr(self, e: ir.Expr, scope: dict[str, Any], record: bool = False) -> str:
        """Python for an expression; with ``record``, the values it reads are recorded (``Traced`` only)."""
        if isinstance(e, ir.Const):
            return self.constant(e.index)
        if isinstance(e, ir.Read):
            return self.read(e.slot, scope, record)
        if isinstance(e, ir.Apply):
            return self.apply(e, scope, record)
        if isinstance(e, ir.Logic):
            return "(" + f" {e.op} ".join(self.expr(x, scope, record) for x in e.operands) + ")"
        if isinstance(e, ir.Known):
            return self.known(e.slot, e.negated, scope)
        if isinstance(e, ir.Quantify):
            return self.quantify(e, scope, record)
        if isinstance(e, ir.CountOf):
            return self.count_of(e, scope, record)
        if isinstance(e, ir.Choose):
            return self.choose(e, scope, record)
        if isinstance(e, ir.Total):
            return self.total(e, scope, record)
        raise AssertionError(f"no code for {type(e).__name__}")

    def choose(self, e: ir.Choose, scope: dict[str, Any], record: bool) -> str:
        """``if C then A else B``: only the value chosen is worked out (and read)."""
        return f"({self.expr(e.then, scope, record)} if {self.expr(e.condition, scope, record)} else {self.expr(e.otherwise, scope, record)})"

    def total(self, e: ir.Total, scope: dict[str, Any], record: bool) -> str:
        """``total of A for each x in L where C``: for each item, its condition, then (where it holds) its value."""
        collection = self.read(e.collection, scope, record)
        loop, inner = self.bind(e.item, e.collection, collection, scope)
        value = self.expr(e.value, inner, record)
        where = f" if {self.expr(e.condition, inner, record)}" if e.condition is not None else ""
        return f"D(sum({value} {loop}{where}))"

    def apply(self, e: ir.Apply, scope: dict[str, Any], record: bool) -> str:
        if e.op in ("in", "not in"):
            return self.member(e, scope, record)
        operands = [self.expr(x, scope, record) for x in e.operands]
        if e.op in ARITHMETIC:
            operands[0] = self.number(operands[0])
        return applied(e.op, operands)

    def member(self, e: ir.Apply, scope: dict[str, Any], record: bool) -> str:
        operand, *options = e.operands
        if all(isinstance(x, ir.Const) for x in options):
            values = frozenset(self.lowered.constants[x.index] for x in options)  # type: ignore[union-attr]
            return f"({self.expr(operand, scope, record)} {e.op} {self.const(values)})"
        written = [self.expr(x, scope, record) for x in options]
        if self.records:
            # Options that read values are read one by one, up to the first that matches, as the reference reads them.
            lazy = ", ".join(f"lambda: {o}" for o in written)
            return f"MEMBER({self.expr(operand, scope, record)}, ({lazy},), {e.op == 'not in'})"
        return f"({self.expr(operand, scope, record)} {e.op} ({', '.join(written)},))"

    def count_of(self, e: ir.CountOf, scope: dict[str, Any], record: bool) -> str:
        parts = [self.expr(c, scope, record) for c in e.conditions]
        if e.quantifier == "any":
            body = "(" + " or ".join(parts) + ")" if parts else "False"
        elif e.quantifier == "all":
            body = "(" + " and ".join(parts) + ")" if parts else "True"
        elif e.quantifier == "none":
            body = "(not (" + " or ".join(parts) + "))" if parts else "True"
        elif e.at_least == 1 and parts:
            body = "(" + " or ".join(parts) + ")"
        elif self.records:
            lazy = ", ".join(f"lambda: {p}" for p in parts)
            body = f"AT_LEAST({e.at_least}, ({lazy}{',' if parts else ''}))"
        else:
            body = "((" + " + ".join(f"bool({p})" for p in parts) + f") >= {e.at_least})" if parts else f"(0 >= {e.at_least})"
        if e.reasons is not None and record:
            # Counting a set of reasons works the set out first, as its own value read.
            return f"({self.read(e.reasons, scope, record)}, {body})[1]"
        return body

    def quantify(self, e: ir.Quantify, scope: dict[str, Any], record: bool) -> str:
        collection = self.read(e.collection, scope, record)
        loop, inner = self.bind(e.item, e.collection, collection, scope)
        condition = self.expr(e.condition, inner, record)
        if e.quantifier == "any":
            return f"any({condition} {loop})"
        if e.quantifier == "every":
            return f"all({condition} {loop})"
        if e.quantifier == "no":
            return f"(not any({condition} {loop}))"
        return f"D(sum(1 {loop} if {condition}))"

    # --- what each mode says ------------------------------------------------------------

    @abc.abstractmethod
    def read(self, slot: ir.Slot, scope: dict[str, Any], record: bool) -> str:
        """Python for the value of a slot (a fact, defined value, parameter, decision, item or field)."""

    @abc.abstractmethod
    def known(self, slot: ir.Slot, negated: bool, scope: dict[str, Any]) -> str:
        """Python for whether a fact, or a field of an item, was given."""

    @abc.abstractmethod
    def bind(self, item: str, collection: ir.Slot, written: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The ``for`` clause over the items of ``written``, and the scope in which ``item`` is each of them."""

    def number(self, code: str) -> str:
        """A value about to take part in arithmetic."""
        return code

    def condition(self, condition: ir.Condition, scope: dict[str, Any], depth: int) -> tuple[str, str | None]:
        """Whether a rule's condition holds, as an expression, and its event (statements may come first)."""
        return self.expr(condition.whole, scope), None

    def holds(self, holds: str) -> tuple[str, str | None]:
        """The tests for a condition that holds and for one that does not (``None``: any other)."""
        return holds, None

    def overridden(self, rule: ir.Rule, exceptions: list[Ruled], by: str | None, out: Ruled, scope: dict[str, Any], depth: int) -> None:
        """Statements after an exception has overridden ``rule``: none unless the mode records events."""
        return

    def considered(self, rule: ir.Rule, decided: bool, condition: str | None, exceptions: list[Ruled], out: Ruled, depth: int) -> None:
        """Statements after ``rule`` was found to decide, or not to apply: none unless the mode records events."""
        return

    # --- default logic ----------------------------------------------------------------

    def rule(self, rule: ir.Rule, scope: dict[str, Any], depth: int) -> Ruled:
        """Statements for a rule and its exceptions, leaving its value, decider (and event) in the names returned.

        An exception that applies overrides its rule; exceptions to one rule
        that apply together must give the same value (agreeing grounds; the
        first in order is the decider), and when they do not, that is a
        conflict, which only the reference reports (``CannotDecide``). When nothing is recorded, a rule whose exceptions
        form a chain (one each) is one ``if``/``elif`` ladder: no two can
        apply at once, so the first that applies, from the innermost out, decides.
        """
        ladder = None if self.records else _ladder(rule)
        if ladder is not None:
            return self.ladder(ladder, scope, depth)
        exceptions = [self.rule(x, scope, depth) for x in rule.exceptions]
        out = Ruled(self.fresh("r"), self.fresh("b"), self.fresh("e") if self.records else None)
        own = depth
        if exceptions:
            taken = [f"{x.value} is not NONE" for x in exceptions]
            by = self.fresh("o") if self.records else None
            inner = depth + 1
            if len(exceptions) > 1:
                count = self.fresh("k")
                self.emit(f"{count} = {' + '.join(f'({t})' for t in taken)}", depth)
                # Exceptions that apply together must agree (agreeing grounds); different outcomes are the reference's conflict.
                agreed = ", ".join(x.value for x in exceptions)
                self.emit(f"if {count} > 1 and len({{{agreed}}} - {{NONE}}) > 1: raise CannotDecide", depth)
                self.emit(f"if {count}:", depth)
                for index, (x, test) in enumerate(zip(exceptions, taken, strict=True)):
                    self.emit(f"{'elif' if index else 'if'} {test}:", depth + 1)
                    self.take(out, x, by, rule.exceptions[index], depth + 2)
            else:
                self.emit(f"if {taken[0]}:", depth)
                self.take(out, exceptions[0], by, rule.exceptions[0], inner)
            self.overridden(rule, exceptions, by, out, scope, inner)
            self.emit("else:", depth)
            own = depth + 1
        if rule.condition is None:
            self.decides(rule, out, scope, own)
            self.considered(rule, True, None, exceptions, out, own)
            return out
        holds, event = self.condition(rule.condition, scope, own)
        true, false = self.holds(holds)
        self.emit(f"if {true}:", own)
        self.decides(rule, out, scope, own + 1)
        self.considered(rule, True, event, exceptions, out, own + 1)
        self.emit("else:" if false is None else f"elif {false}:", own)
        self.emit(f"{out.value}, {out.decider} = NONE, None", own + 1)
        self.considered(rule, False, event, exceptions, out, own + 1)
        if false is not None:
            self.emit("else: raise CannotDecide", own)
        return out

    def take(self, out: Ruled, exception: Ruled, by: str | None, rule: ir.Rule, depth: int) -> None:
        if by is None:
            self.emit(f"{out.value}, {out.decider} = {exception.value}, {exception.decider}", depth)
        else:
            self.emit(f"{out.value}, {out.decider}, {by} = {exception.value}, {exception.decider}, {self.const(rule.label)}", depth)

    def decides(self, rule: ir.Rule, out: Ruled, scope: dict[str, Any], depth: int) -> None:
        self.emit(f"{out.value}, {out.decider} = {self.expr(rule.conclusion, scope)}, {self.const(rule.label)}", depth)

    def ladder(self, rules: list[ir.Rule], scope: dict[str, Any], depth: int) -> Ruled:
        out = Ruled(self.fresh("r"), self.fresh("b"))
        for index, rule in enumerate(rules):
            if rule.condition is None:
                if index:
                    self.emit("else:", depth)
                self.decides(rule, out, scope, depth + (1 if index else 0))
                return out
            self.emit(f"{'elif' if index else 'if'} {self.condition(rule.condition, scope, depth)[0]}:", depth)
            self.decides(rule, out, scope, depth + 1)
        self.emit("else:", depth)
        self.emit(f"{out.value}, {out.decider} = NONE, None", depth + 1)
        return out


def _ladder(rule: ir.Rule) -> list[ir.Rule] | None:
    """A rule whose exceptions form a chain (one exception each), the innermost first; ``None`` otherwise."""
    if not rule.exceptions:
        return [rule]
    if len(rule.exceptions) == 1:
        inner = _ladder(rule.exceptions[0])
        if inner is not None:
            return [*inner, rule]
    return None


# --- two-valued: every fact known, nothing recorded ---------------------------------------


#: Reasons with at most this many conditions are found in a table of every combination (2 ** n entries).
_REASON_TABLE_MAX = 8


def _reason_table(names: tuple[str, ...]) -> dict[tuple[bool, ...], tuple[str, ...]]:
    """The reasons that hold for each combination of ``True``/``False`` conditions; any other value is not in it."""
    return {held: tuple(itertools.compress(names, held)) for held in itertools.product((False, True), repeat=len(names))}


class TwoValued(CodeGenerator):
    """Names are locals: each fact read once by the prologue into ``xN``, each defined value and decision worked out in order, constants in cells ``cN``."""

    def __init__(self, lowered: Lowered) -> None:
        super().__init__(lowered)
        self.fact_vars: dict[str, str] = {}
        self.locals: dict[str, str] = {}
        self.params_used: dict[str, str] = {}
        #: Facts some condition asks ``is known`` of: the prologue may let them be absent (see ``policy_function.Absent``).
        self.known_facts: set[str] = set()

    def constant_name(self, index: int) -> str:
        return f"c{index}"

    def table(self, value: dict[Any, Any]) -> str:
        """A constant that cannot be hashed (a dict), kept once by its identity."""
        key = (type(value), id(value))
        if key not in self.constant_index:
            self.constant_index[key] = len(self.constants)
            self.constants.append(value)
        return self.constant_name(self.constant_index[key])

    def fact(self, name: str) -> str:
        if name not in self.fact_vars:
            self.fact_vars[name] = f"x{len(self.fact_vars)}"
        return self.fact_vars[name]

    def read(self, slot: ir.Slot, scope: dict[str, Any], record: bool) -> str:
        kind = slot.kind
        if kind == "fact":
            return self.fact(slot.name)
        if kind == "item":
            return scope[slot.name]
        if kind == "field":
            return f"{scope[slot.item or '']}[{self.const(slot.name)}]"
        if kind == "parameter":
            if slot.name not in self.params_used:
                self.params_used[slot.name] = self.fresh("p")
            return self.params_used[slot.name]
        if kind == "today":
            return "as_of"
        if kind == "item decision":
            return f"{self.locals['@' + slot.name]}({scope[slot.item or '']})"
        return self.locals[slot.name]

    def known(self, slot: ir.Slot, negated: bool, scope: dict[str, Any]) -> str:
        test = "not in" if negated else "in"
        if slot.kind == "field":
            return f"({self.const(slot.name)} {test} {scope[slot.item or '']})"
        if self.model.facts[slot.name].default is not None:
            return "False" if negated else "True"
        self.known_facts.add(slot.name)
        return f"({self.const(slot.name)} {test} f)"

    def number(self, code: str) -> str:
        # Amounts may be ``int``; arithmetic is done in ``Decimal``, as the reference does it.
        return f"D({code})"

    def quantify(self, e: ir.Quantify, scope: dict[str, Any], record: bool) -> str:
        condition = e.condition
        if isinstance(condition, ir.Read) and condition.slot.kind == "field" and condition.slot.item == e.item and e.quantifier != "count":
            # A yes/no field of each item: read by ``itemgetter`` in C, without a generator.
            fields = f"map({self.const(operator.itemgetter(condition.slot.name))}, {self.read(e.collection, scope, record)})"
            return {"any": f"any({fields})", "every": f"all({fields})", "no": f"(not any({fields}))"}[e.quantifier]
        return super().quantify(e, scope, record)

    def bind(self, item: str, collection: ir.Slot, written: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        var = self.fresh("i")
        return f"for {var} in {written}", {**scope, item: var}

    def decisions(self) -> tuple[str, str, str, str, str]:
        """The body that works out every reported value; gives the expressions for outcome, rule, priority, elements, reasons.

        The header's ``results`` are worked out too, each left in ``self.locals``.
        """
        lowered = self.lowered
        body_start = len(self.lines)
        element_values = "()"
        for name in lowered.order:
            if name in lowered.defines:
                body = lowered.defines[name].body
                var = self.fresh("v")
                if isinstance(body, ir.Reasons):
                    held = ", ".join(self.expr(x, {}) for _name, x in body.members)
                    names = tuple(lowered.constants[index] for index, _x in body.members)
                    if len(names) <= _REASON_TABLE_MAX:
                        # Every combination of the conditions, looked up: one hash of the tuple of held values.
                        held_var = self.fresh("h")
                        self.emit(f"{held_var} = ({held},)")
                        self.emit(f"{var} = {self.table(_reason_table(names))}.get({held_var})")
                        self.emit(f"if {var} is None: {var} = tuple(COMPRESS({self.const(names)}, {held_var}))")
                    else:
                        self.emit(f"{var} = tuple(COMPRESS({self.const(names)}, ({held},)))")
                else:
                    self.emit(f"{var} = {self.expr(body, {})}")
                self.locals[name] = var
                continue
            decision = lowered.decisions[name]
            if decision.per_item is None:
                out = self.rule(decision.root, {}, 1)
                self.locals[name] = out.value
                self.locals["@" + name] = out.decider
                continue
            if name in self.model.item_decisions.values():
                # Read for one item (``part.part_cost``): a function of the item, called where it is read.
                fn, var = self.fresh("E"), self.fresh("e")
                self.emit(f"def {fn}({var}):")
                out = self.rule(decision.root, {decision.per_item[0]: var}, 2)
                self.emit(f"return {out.value}", 2)
                self.locals["@" + name] = fn
            if name == lowered.element_outcomes:
                item, collection = decision.per_item
                var, results = self.fresh("e"), self.fresh("l")
                self.emit(f"{results} = []")
                self.emit(f"for {var} in {self.read(collection, {}, False)}:")
                out = self.rule(decision.root, {item: var}, 2)
                self.emit(f"{results}.append({out.value})", 2)
                element_values = f"tuple({results})"
        params = [f"    {var} = param({self.const(name)}, as_of)" for name, var in self.params_used.items()]
        self.lines[body_start:body_start] = params
        outcome = self.locals.get(lowered.outcome or "", "None")
        decider = self.locals.get("@" + (lowered.outcome or ""), "None")
        priority = self.locals.get(lowered.priority or "", "None")
        reasons = self.locals.get(lowered.reasons or "", "()")
        return outcome, decider, priority, element_values, reasons


# --- traced: the explanation recorded ------------------------------------------------------


class Traced(CodeGenerator):
    """Names are read lazily and recorded: each defined value and decision a function worked out once (``Dn``/``Cn``), events made by helpers.

    ``text(node)``, ``citations(node)`` give what the trace shows of an AST
    node (the reference's own helpers, passed in by ``traced_function``).
    """

    records = True

    def __init__(self, lowered: Lowered, text: Any, citations: Any, parameter_kind: Any) -> None:
        super().__init__(lowered)
        self.text = text
        self.citations = citations
        self.parameter_kind = parameter_kind
        self.fact_index = {name: i for i, name in enumerate(lowered.facts)}
        self.functions: dict[str, str] = {}
        self.memo_names: list[tuple[str, str, str]] = []  # (function, memo variable, read variable)
        self.item_memos: list[str] = []  # the value each decision made for each item has for each index decided, by index
        self.bodies: list[list[str]] = []
        self.infos: dict[str, str] = {}

    def static(self, value: Any) -> str:
        """A constant of any kind, kept in the table without looking for an equal one."""
        self.constants.append(value)
        return self.constant_name(len(self.constants) - 1)

    def read(self, slot: ir.Slot, scope: dict[str, Any], record: bool) -> str:
        kind, name = slot.kind, slot.name
        if kind == "fact":
            read = f"F{self.fact_index[name]}"
            # A fact is given exactly when its read is: a missing one is the reference's to handle. ``A`` gives None.
            value = f"v{self.fact_index[name]}"
            return f"(A({read}) or {value} if {read} is not None else GIVE_UP())" if record else f"({value} if {read} is not None else GIVE_UP())"
        if kind == "item":
            return scope[name][0]
        if kind == "field":
            item, index, collection = scope[slot.item or ""]
            if record:
                return f"FD(A, {item}, {self.const(name)}, {collection}, {index})"
            field = self.const(name)
            return f"({item}[{field}] if {field} in {item} else GIVE_UP())"
        if kind == "parameter":
            if record:
                return f"PA(A, {self.const(name)}, {self.static(('parameter', name, self.parameter_kind(name), {}))}, as_of)"
            return f"PV({self.const(name)}, as_of)"
        if kind == "today":
            return "as_of"
        if kind == "item decision":
            item, index, collection = scope[slot.item or ""]
            fn = self.per_item(name)
            if record:
                shown = self.model.name_types[name].kind
                return f"ID(A, {fn}, {index}, {item}, {self.const(f'{name}')}, {collection}, {self.const(shown)})"
            return f"{fn}({index}, {item})"
        fn, read = self.define(name) if kind == "define" else self.decision(name)
        return f"({fn}(), A({read}))[0]" if record else f"{fn}()"

    def known(self, slot: ir.Slot, negated: bool, scope: dict[str, Any]) -> str:
        container = scope[slot.item or ""][0] if slot.kind == "field" else "f"
        return f"({self.const(slot.name)} {'not in' if negated else 'in'} {container})"

    def bind(self, item: str, collection: ir.Slot, written: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        record, index = self.fresh("i"), self.fresh("n")
        return f"for {index}, {record} in enumerate({written})", {**scope, item: (record, index, self.const(collection.name))}

    # --- defined values and decisions, each a function worked out once -----------------

    def once(self, name: str, prefix: str, shown: str | None, work: Callable[[], str]) -> tuple[str, str]:
        """The function that works a defined value or decision out on its first read (``work`` writes its statements and gives the value), and its read."""
        if name in self.functions:
            fn = self.functions[name]
            return fn, "r" + fn
        fn = self.functions[name] = self.fresh(prefix)
        memo, read = "m" + fn, "r" + fn
        self.memo_names.append((fn, memo, read))
        saved, self.lines = self.lines, []
        self.emit(f"nonlocal {memo}, {read}", 1)
        self.emit(f"if {memo} is NONE:", 1)
        value = work()
        self.emit(f"{memo} = {value}", 2)
        self.emit(f"{read} = READ({self.static(('defined' if prefix == 'D' else 'decision', name, shown, {}))}, {value})", 2)
        self.emit(f"return {memo}", 1)
        body, self.lines = self.lines, saved
        self.bodies.append([f"def {fn}():", *body])
        return fn, read

    def define(self, name: str) -> tuple[str, str]:
        define = self.lowered.defines[name]
        kind = self.model.name_types.get(name)
        shown = kind.kind if kind else None

        def work() -> str:
            decl = define.source
            self.emit("w = []", 2)
            self.emit("A = w.append", 2)
            if isinstance(define.body, ir.Reasons):
                pairs = ", ".join(f"({self.constant(index)}, {self.expr(x, {}, True)})" for index, x in define.body.members)
                self.emit(f"v = REASONS(({pairs}{',' if define.body.members else ''}))", 2)
            else:
                self.emit(f"v = {self.expr(define.body, {}, True)}", 2)
            info = (name, shown, decl.span.short, self.citations(decl.citations), decl.because, self.text(decl.body), ir.may_read_twice(define.body))
            self.emit(f"W.append(WORKED_OUT({self.static(info)}, v, w))", 2)
            return "v"

        return self.once(name, "D", shown, work)

    def decision(self, name: str) -> tuple[str, str]:
        decision = self.lowered.decisions[name]
        assert decision.per_item is None, "the checker lets no rule read a decision made for each item"

        def work() -> str:
            out = self.rule(decision.root, {}, 2)
            self.emit(f"if {out.value} is NONE: raise CannotDecide", 2)
            self.emit(f"M.append(MADE({self.const(name)}, None, {out.value}, {out.decider}, {out.event}))", 2)
            return out.value

        kind = self.model.name_types.get(name)
        return self.once(name, "C", kind.kind if kind else "one of", work)

    def per_item(self, name: str) -> str:
        """The function that makes a decision for one item of its list (``fn(index, record)``), once for each item however often it is read."""
        if name in self.functions:
            return self.functions[name]
        decision = self.lowered.decisions[name]
        assert decision.per_item is not None
        item, collection = decision.per_item
        fn, record, index = self.fresh("E"), self.fresh("i"), self.fresh("n")
        self.functions[name] = fn
        self.item_memos.append("m" + fn)
        where = self.const(collection.name)
        saved, self.lines = self.lines, []
        self.emit(f"if {index} in m{fn}: return m{fn}[{index}]", 1)
        out = self.rule(decision.root, {item: (record, index, where)}, 1)
        self.emit(f"if {out.value} is NONE: raise CannotDecide", 1)
        self.emit(f"M.append(MADE({self.const(name)}, ITEM({where}, {index}, {record}), {out.value}, {out.decider}, {out.event}))", 1)
        self.emit(f"m{fn}[{index}] = {out.value}", 1)
        self.emit(f"return {out.value}", 1)
        body, self.lines = self.lines, saved
        self.bodies.append([f"def {fn}({index}, {record}):", *body])
        return fn

    # --- what a rule records -----------------------------------------------------------

    def condition(self, condition: ir.Condition, scope: dict[str, Any], depth: int) -> tuple[str, str | None]:
        """Statements that leave whether the condition holds in ``hN``, its event in ``cN``; an ``and`` records its first part that fails."""
        holds, event = self.fresh("h"), self.fresh("c")
        self.emit("w = []", depth)
        self.emit("A = w.append", depth)
        text = self.text(condition.source)
        if condition.split:
            parts = tuple((self.text(part.source),) for part in condition.parts)
            failed = self.fresh("x")
            self.emit(f"{failed} = -1", depth)
            inner = depth
            for index, part in enumerate(condition.parts):
                self.emit(f"{holds} = {self.expr(part, scope, True)}", inner)
                self.emit(f"if {holds} is False:", inner)
                self.emit(f"{failed} = {index}", inner + 1)
                self.emit("else:", inner)
                inner += 1
            self.emit(f"{holds} = True", inner)
        else:
            parts = ((text,),)
            self.emit(f"{holds} = {self.expr(condition.whole, scope, True)}", depth)
            failed = f"(0 if {holds} is False else -1)"
        info = self.static((text, parts, ir.may_read_twice(condition.whole)))
        self.emit(f"{event} = CONDITION({info}, {holds}, w, {failed})", depth)
        return holds, event

    def holds(self, holds: str) -> tuple[str, str | None]:
        return f"{holds} is True", f"{holds} is False"

    def info(self, rule: ir.Rule) -> str:
        """What the trace shows of a rule, one constant for all its events."""
        found = self.infos.get(rule.label)
        if found is None:
            decl = rule.source
            kind = "default" if rule.level == 0 else "exception"
            found = self.infos[rule.label] = self.static((rule.label, rule.decision, kind, decl.span.short, self.citations(decl.citations), decl.because))
        return found

    def table(self, rule: ir.Rule) -> str:
        """The first-of table the rule is a row of, as a constant (``None`` for a rule of its own)."""
        return self.const(rule.source.table) if rule.source.table is not None else "None"

    def overridden(self, rule: ir.Rule, exceptions: list[Ruled], by: str | None, out: Ruled, scope: dict[str, Any], depth: int) -> None:
        # The rule's own condition is still worked out, to say whether it was overridden or would not have applied.
        events = "(" + "".join(f"{x.event}, " for x in exceptions) + ")"
        if rule.condition is None:
            condition, status = "None", "OVERRIDDEN"
        else:
            holds, condition = self.condition(rule.condition, scope, depth)  # type: ignore[assignment]
            status = f"(OVERRIDDEN if {holds} is True else NOT_APPLYING if {holds} is False else GIVE_UP())"
        written = self.const(self.text(rule.source.conclusion))
        self.emit(f"{out.event} = RULE((*{self.info(rule)}, {status}, {written}, {condition}, {events}, {by}, {self.table(rule)}))", depth)

    def considered(self, rule: ir.Rule, decided: bool, condition: str | None, exceptions: list[Ruled], out: Ruled, depth: int) -> None:
        events = "(" + "".join(f"{x.event}, " for x in exceptions) + ")"
        if decided:
            kind = self.model.name_types.get(rule.decision)
            shown = f"SHOWN({out.value}, {self.const(kind.kind if kind else None)})"
            self.emit(f"{out.event} = RULE((*{self.info(rule)}, DECIDED, {shown}, {condition}, {events}, None, {self.table(rule)}))", depth)
        else:
            written = self.const(self.text(rule.source.conclusion))
            self.emit(f"{out.event} = RULE((*{self.info(rule)}, NOT_APPLYING, {written}, {condition}, {events}, None, {self.table(rule)}))", depth)


# --- three-valued: facts may be unknown, for undecided services and the search -------------

#: Operators of ``ir.Apply`` that are leaves of a condition: left unknown by facts that cannot be enumerated, a leaf is an atom (or a bound) of the search.
LEAVES = frozenset({"=", "<>", "<", "<=", ">", ">=", "between", "within", "in", "not in", "empty", "not empty"})
#: Kinds of yes/no and listed-value facts and fields, on whose missing values the search branches directly.
BRANCHABLE = frozenset({"yes/no", "one of"})
#: Kinds of fact a comparison with a known value bounds (see ``Env.atom``).
BOUNDED = frozenset({"number", "whole number", "money", "percentage", "date", "text"})
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_QUANTIFIED = {"any": "any", "every": "all", "no": "none"}


class ThreeValued(CodeGenerator):
    """Facts may be unknown (``UNKNOWN``): Kleene's logic, for the ``Env`` of ``evaluator``.

    One function ``gN(env)`` for each defined value, rule condition (and each
    part of a condition that is an ``and``/``or``, which the trace shows) and
    conclusion. Each form is statements leaving its value in a fresh local.
    An ``Apply`` is unknown when any operand is, written once in ``apply``;
    only ``and``/``or``, membership, ``is known``, the quantifiers and
    ``any/all/none/at least N of`` have their own code. Reads go through the
    ``Env`` hooks (``missing_fact``, ``defined``, ``decision``, ``parameter``),
    which record reads for the trace, memoise, and answer the search's
    assumptions; a leaf left unknown asks ``env.atom``.

    Leaves are numbered as the search orders its atoms: in the order the
    functions are written (a defined value or decision before the first
    expression that reads it), each after the leaves inside it.
    """

    def __init__(self, lowered: Lowered) -> None:
        super().__init__(lowered)
        self.depth = 1
        self.bodies: list[list[str]] = []
        self.atoms: dict[int, int] = {}
        self.defines: dict[str, str] = {}
        self.decisions: set[str] = set()
        self.rules: dict[str, tuple[str | None, str]] = {}
        self.parts: list[tuple[Any, str]] = []
        self.outcomes: dict[int, str] = {}

    def constant_name(self, index: int) -> str:
        return f"c{index}"

    def put(self, line: str) -> None:
        self.emit(line, self.depth)

    def generate(self) -> str:
        """The source of every function, defined values first, then decisions, each in declaration order."""
        for name in self.lowered.defines:
            self.define(name)
        for name in self.lowered.decisions:
            self.decision(name)
        return "\n".join(line for body in self.bodies for line in body) + "\n"

    def function(self, work: Callable[[], str]) -> str:
        """A function of the ``Env`` whose statements ``work`` writes, returning the value it gives."""
        fn = self.fresh("g")
        saved = self.lines, self.depth
        self.lines, self.depth = [], 1
        value = work()
        self.put(f"return {value}")
        self.bodies.append([f"def {fn}(env):", *self.lines])
        self.lines, self.depth = saved
        return fn

    def define(self, name: str) -> str:
        if name not in self.defines:
            body = self.lowered.defines[name].body
            self.defines[name] = self.function(lambda: self.reasons(body) if isinstance(body, ir.Reasons) else self.expr(body, {}))
        return self.defines[name]

    def decision(self, name: str) -> None:
        if name not in self.decisions:
            self.rule_functions(self.lowered.decisions[name].root)
            self.decisions.add(name)

    def rule_functions(self, rule: ir.Rule) -> None:
        condition = self.condition_function(rule.condition) if rule.condition is not None else None
        conclusion = rule.conclusion
        if isinstance(conclusion, ir.Const):
            # Most rules conclude with an outcome: one function for each, shared.
            if conclusion.index not in self.outcomes:
                self.outcomes[conclusion.index] = self.function(lambda: self.expr(conclusion, {}))
            self.rules[rule.label] = (condition, self.outcomes[conclusion.index])
        else:
            self.rules[rule.label] = (condition, self.function(lambda: self.expr(conclusion, {})))
        for exception in rule.exceptions:
            self.rule_functions(exception)

    def condition_function(self, condition: ir.Condition) -> str:
        """A rule's condition; an ``and``/``or`` at the top is the combination of a function for each part."""
        whole = condition.whole
        if isinstance(whole, ir.Logic):
            parts = [self.function(lambda x=x: self.expr(x, {})) for x in whole.operands]
            self.parts.extend((x.source, fn) for x, fn in zip(whole.operands, parts, strict=True))
            fn = self.function(lambda: self.logic(whole.op, [lambda p=p: self.call(p) for p in parts], {}))
        else:
            fn = self.function(lambda: self.expr(whole, {}))
        self.parts.append((condition.source, fn))
        return fn

    def call(self, fn: str) -> str:
        v = self.fresh("t")
        self.put(f"{v} = {fn}(env)")
        return v

    # --- expressions ----------------------------------------------------------------

    def expr(self, e: ir.Expr, scope: dict[str, Any], record: bool = False) -> str:
        """A local (or constant) holding the value of ``e``, after the statements that work it out."""
        if isinstance(e, ir.Logic):
            return self.logic(e.op, e.operands, scope)
        if isinstance(e, ir.Read) and e.slot.kind == "field":
            return self.field(e, scope)
        return super().expr(e, scope, record)

    def leaf(self) -> str:
        """The name holding where the search stood before a leaf (``Env.mark``)."""
        mark = self.fresh("m")
        self.put(f"{mark} = env.mark()")
        return mark

    def atom(self, source: Any, mark: str, bound: str = "None") -> str:
        number = self.atoms.setdefault(id(source), len(self.atoms))
        return f"env.atom({number}, {mark}, {bound})"

    def apply(self, e: ir.Apply, scope: dict[str, Any], record: bool) -> str:
        if e.op in ("in", "not in"):
            return self.member(e, scope)
        mark = self.leaf() if e.op in LEAVES else None
        operands = [self.expr(x, scope) for x in e.operands]
        value = applied(e.op, operands)
        if e.op == "/":
            # By zero: an error the officer is shown, with where the calculation is.
            value = f"DIVIDE({operands[0]}, {operands[1]}, env, {self.const(str(e.source.span))})"
        elif e.op in CALENDAR_OPS:
            # Beyond the years 1 to 9999: an error the officer is shown, with where the date is worked out.
            value = f"CALENDAR(lambda: {value}, env, {self.const(str(e.source.span))})"
        v = self.fresh("v")
        unknown = [o for o, x in zip(operands, e.operands, strict=True) if not isinstance(x, ir.Const)]
        if mark is not None:
            at = self.atom(e.source, mark, self.bound(e, operands) if e.op in _FLIPPED else "None")
        if not unknown:
            self.put(f"{v} = {value}")
            return v
        self.put(f"if {' or '.join(f'{o} is UNKNOWN' for o in unknown)}:")
        self.put(f"    {v} = {at if mark is not None else 'UNKNOWN'}")
        self.put(f"else: {v} = {value}")
        return v

    def bound(self, e: ir.Apply, operands: list[str]) -> str:
        """The bound a comparison puts on one missing fact compared with a known value, written as a conditional expression."""
        (left, right), (a, b) = e.operands, operands
        written = "None"
        for fact, other, op, x in ((self.bounded(right), a, _FLIPPED[e.op], b), (self.bounded(left), b, e.op, a)):
            if fact is not None:
                written = f"(({self.const(fact)}, {self.const(op)}, {other}) if {x} is UNKNOWN and {other} is not UNKNOWN else {written})"
        return written

    def bounded(self, e: ir.Expr) -> str | None:
        if isinstance(e, ir.Read) and e.slot.kind == "fact" and self.model.fact_types[e.slot.name].kind in BOUNDED:
            return e.slot.name
        return None

    def member(self, e: ir.Apply, scope: dict[str, Any]) -> str:
        """``x is one of (...)``: the options are read even when ``x`` is unknown (knowing more never reads more); the first equal option settles it."""
        mark = self.leaf()
        operand, *options = e.operands
        x = self.expr(operand, scope)
        v = self.fresh("v")
        negated = e.op == "not in"
        self.put(f"if {x} is UNKNOWN:")
        self.depth += 1
        for option in options:
            self.expr(option, scope)
        self.put(f"{v} = UNKNOWN")
        self.depth -= 1
        self.put("else:")
        self.depth += 1
        if all(isinstance(o, ir.Const) for o in options):
            values = frozenset(self.lowered.constants[o.index] for o in options)  # type: ignore[union-attr]
            self.put(f"{v} = {x} {e.op} {self.const(values)}")
        else:
            unknown = self.fresh("u")
            self.put(f"{v}, {unknown} = {negated}, False")

            def option(o: str) -> None:
                self.put(f"if {o} is UNKNOWN: {unknown} = True")
                self.put(f"elif {o} == {x}: {v} = {not negated}")

            self.until(f"{v} is {negated}", options, scope, option)
            self.put(f"if {unknown} and {v} is {negated}: {v} = UNKNOWN")
        self.depth -= 1
        self.put(f"if {v} is UNKNOWN: {v} = {self.atom(e.source, mark)}")
        return v

    def until(self, going: str, operands: Sequence[ir.Expr | Callable[[], str]], scope: dict[str, Any], then: Callable[[str], None]) -> None:
        """Each operand worked out and handed to ``then``, those after the first only while ``going`` holds: every form that stops once settled."""
        for index, operand in enumerate(operands):
            if index:
                self.put(f"if {going}:")
                self.depth += 1
            then(operand() if callable(operand) else self.expr(operand, scope))
            if index:
                self.depth -= 1

    def logic(self, op: str, operands: Sequence[ir.Expr | Callable[[], str]], scope: dict[str, Any]) -> str:
        """``and``/``or``: the first operand that settles it stops the rest; an unknown one leaves it unknown unless a later one settles it."""
        settles = "False" if op == "and" else "True"
        v = self.fresh("v")
        self.put(f"{v} = {op == 'and'}")

        def operand(t: str) -> None:
            # ``t`` is True, False or UNKNOWN: all but the value that changes nothing are kept.
            self.put(f"if {t} is not {op == 'and'}: {v} = {t}")

        self.until(f"{v} is not {settles}", operands, scope, operand)
        return v

    def read(self, slot: ir.Slot, scope: dict[str, Any], record: bool) -> str:
        kind, name, v = slot.kind, slot.name, self.fresh("v")
        key = self.const(name)
        if kind == "fact":
            self.put(f"{v} = env.fact({key}, {self.model.fact_types[name].kind in BRANCHABLE})")
        elif kind == "define":
            self.define(name)
            self.put(f"{v} = env.defined({key})")
        elif kind == "decision":
            self.decision(name)
            self.put(f"{v} = env.decision({key})")
        elif kind == "parameter":
            self.put(f"{v} = env.parameter({key})")
        elif kind == "today":
            return "env.as_of"
        elif kind == "item decision":
            _collection, index, _record = self.item(slot.item or "", scope)
            self.put(f"{v} = env.item_decision({key}, {index})")
        else:
            self.put(f"{v} = env.items[{key}]")
        return v

    def item(self, name: str, scope: dict[str, Any]) -> tuple[str, str, str]:
        """The collection, index and record of list item ``name``: locals of an enclosing quantifier, or the item a per-item decision is made for."""
        if name in scope:
            return scope[name]
        bound = self.fresh("c"), self.fresh("n"), self.fresh("i")
        self.put(f"{bound[0]}, {bound[1]}, {bound[2]} = env.items[{self.const(name)}]")
        return bound

    def field(self, e: ir.Read, scope: dict[str, Any]) -> str:
        collection, index, record = self.item(e.slot.item or "", scope)
        v, key = self.fresh("v"), self.const(e.slot.name)
        branchable = self.model.type_of(e.source).kind in BRANCHABLE
        self.put(f"{v} = env.field({collection}, {index}, {record}, {key}, {branchable})")
        return v

    def known(self, slot: ir.Slot, negated: bool, scope: dict[str, Any]) -> str:
        container = self.item(slot.item or "", scope)[2] if slot.kind == "field" else "env.facts"
        v = self.fresh("v")
        self.put(f"{v} = {container}.get({self.const(slot.name)}, UNKNOWN) is {'' if negated else 'not '}UNKNOWN")
        return v

    def bind(self, item: str, collection: ir.Slot, written: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        index, record = self.fresh("n"), self.fresh("i")
        return f"for {index}, {record} in enumerate({written}):", {**scope, item: (self.const(collection.name), index, record)}

    def quantify(self, e: ir.Quantify, scope: dict[str, Any], record: bool) -> str:
        """Over the items of a list, each bound in ``env.items`` (atoms are named by the items looked at); stops once settled, except ``count``."""
        mark = self.leaf() if e.quantifier != "count" else None
        items = self.read(e.collection, scope, False)
        v, tr, fa, un = (self.fresh(p) for p in ("v", "tr", "fa", "un"))
        self.put(f"if {items} is UNKNOWN: {v} = UNKNOWN")
        self.put("else:")
        self.depth += 1
        self.put(f"{tr} = {fa} = {un} = 0")
        quantified = _QUANTIFIED.get(e.quantifier)

        def each(inner: dict[str, Any]) -> None:
            t = self.expr(e.condition, inner)
            self.put(f"if {t} is UNKNOWN: {un} += 1")
            self.put(f"elif {t}: {tr} += 1")
            self.put(f"else: {fa} += 1")
            if quantified is not None:
                self.put(f"if {fa if quantified == 'all' else tr}: break")

        self.each_item(e.item, e.collection, items, scope, each)
        if quantified is None:
            self.put(f"{v} = UNKNOWN if {un} else D({tr})")
        else:
            self.put(f"{v} = {self.kleene(quantified, tr, fa, f'len({items})', 1)}")
        self.depth -= 1
        if mark is not None:
            self.put(f"if {v} is UNKNOWN: {v} = {self.atom(e.source, mark)}")
        return v

    def each_item(self, item: str, collection: ir.Slot, items: str, scope: dict[str, Any], body: Callable[[dict[str, Any]], None]) -> None:
        """A loop over the items of a list, each bound in ``env.items`` while ``body`` writes what is done with it; the binding before is put back."""
        key, saved = self.const(item), self.fresh("s")
        self.put(f"{saved} = env.items.get({key})")
        self.put("try:")
        self.depth += 1
        loop, inner = self.bind(item, collection, items, scope)
        self.put(loop)
        self.depth += 1
        self.put(f"env.items[{key}] = {', '.join(inner[item])}")
        body(inner)
        self.depth -= 2
        self.put("finally:")
        self.put(f"    if {saved} is None: env.items.pop({key}, None)")
        self.put(f"    else: env.items[{key}] = {saved}")

    def choose(self, e: ir.Choose, scope: dict[str, Any], record: bool) -> str:
        """``if C then A else B``: the value chosen; with ``C`` unknown both are worked out (knowing more never reads more), and agree or leave it unknown."""
        c, v = self.expr(e.condition, scope), self.fresh("v")
        self.put(f"if {c} is True:")
        self.depth += 1
        self.put(f"{v} = {self.expr(e.then, scope)}")
        self.depth -= 1
        self.put(f"elif {c} is False:")
        self.depth += 1
        self.put(f"{v} = {self.expr(e.otherwise, scope)}")
        self.depth -= 1
        self.put("else:")
        self.depth += 1
        a, b = self.expr(e.then, scope), self.expr(e.otherwise, scope)
        self.put(f"{v} = {a} if {a} is not UNKNOWN and {b} is not UNKNOWN and {a} == {b} else UNKNOWN")
        self.depth -= 1
        return v

    def total(self, e: ir.Total, scope: dict[str, Any], record: bool) -> str:
        """``total of A for each x in L where C``: every item looked at; unknown when an item's condition, or the value of one it may count, is."""
        items = self.read(e.collection, scope, False)
        v, un = self.fresh("v"), self.fresh("un")
        self.put(f"if {items} is UNKNOWN: {v} = UNKNOWN")
        self.put("else:")
        self.depth += 1
        self.put(f"{v}, {un} = D(0), False")

        def each(inner: dict[str, Any]) -> None:
            if e.condition is not None:
                t = self.expr(e.condition, inner)
                self.put(f"if {t} is False: continue")
                self.put(f"if {t} is UNKNOWN: {un} = True")
            x = self.expr(e.value, inner)
            self.put(f"if {x} is UNKNOWN: {un} = True")
            self.put(f"elif not {un}: {v} = {v} + {x}")

        self.each_item(e.item, e.collection, items, scope, each)
        self.put(f"if {un}: {v} = UNKNOWN")
        self.depth -= 1
        return v

    def count_of(self, e: ir.CountOf, scope: dict[str, Any], record: bool) -> str:
        """``any``/``all``/``none``/``at least N of``: stops once the conditions seen settle it, whatever the rest are."""
        if e.reasons is not None:
            self.define(e.reasons.name)
            self.put(f"if env.reads is not None: env.defined({self.const(e.reasons.name)})")
        v, tr, fa = self.fresh("v"), self.fresh("tr"), self.fresh("fa")
        total, n = len(e.conditions), e.at_least
        settled = {"any": f"{tr}", "none": f"{tr}", "all": f"{fa}"}.get(e.quantifier, f"{tr} >= {n} or {total} - {fa} < {n}")
        self.put(f"{tr} = {fa} = 0")

        def condition(t: str) -> None:
            self.put(f"{tr} += {t} is True")
            self.put(f"{fa} += {t} is False")

        self.until(f"not ({settled})", e.conditions, scope, condition)
        self.put(f"{v} = {self.kleene(e.quantifier, tr, fa, str(total), n)}")
        return v

    @staticmethod
    def kleene(quantifier: str, tr: str, fa: str, total: str, at_least: int) -> str:
        """Kleene's value of a quantifier from how many conditions were true and false; the others (unknown, or not looked at) are unknown."""
        open_ = f"{tr} + {fa} < {total}"
        if quantifier == "any":
            return f"True if {tr} else UNKNOWN if {open_} else False"
        if quantifier == "all":
            return f"False if {fa} else UNKNOWN if {open_} else True"
        if quantifier == "none":
            return f"False if {tr} else UNKNOWN if {open_} else True"
        return f"True if {tr} >= {at_least} else False if {total} - {fa} < {at_least} else UNKNOWN"

    def reasons(self, body: ir.Reasons) -> str:
        """``those of a, b that hold``: every member worked out; unknown only when some member is unknown and none holds."""
        held, unknown = self.fresh("h"), self.fresh("u")
        self.put(f"{held}, {unknown} = [], False")
        for index, member in body.members:
            t = self.expr(member, {})
            self.put(f"if {t} is UNKNOWN: {unknown} = True")
            self.put(f"elif {t}: {held}.append({self.constant(index)})")
        return f"(UNKNOWN if {unknown} and not {held} else tuple({held}))"
