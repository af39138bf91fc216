"""The lowered form of a checked policy: the one representation the code generator reads.

The AST says how a rule file is written (13 kinds of expression, names still
to resolve, spans everywhere); the generator needs only what it means. Lowering
resolves every name to a ``Slot`` of its kind, keeps every constant in one
table (referred to by index, so no text of a rule file ever reaches generated
source), makes each decision a tree of rules (the default at the root, each
exception under the rule it overrides), and splits each condition into the
parts a trace shows.

Every form that applies an operator to operands (comparisons, arithmetic,
membership, negation, emptiness, length) becomes one node kind, ``Apply``;
only forms that decide how far their operands are evaluated keep their own
kind (``Logic``, ``Quantify``, ``CountOf``, ``Known``). A new strict form is
then a new operator name here and one template in the generator.

The nodes are frozen attrs classes. The AST node each came from is kept in
``source`` for the trace (its text, span and citations), outside equality:
two policies that say the same thing lower to equal trees.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from policy_rules.engine.dates import Period
from policy_rules.engine.values import DATE
from policy_rules.language import nodes as n
from policy_rules.language.checker import PolicyModel, dependencies

# Every node ends with ``source``: the AST node it was lowered from, for the trace, left out of equality, hashing and repr.


@attrs.frozen
class Slot:
    """A resolved name: ``kind`` is fact, define, parameter, decision, item or field; a field names its ``item``."""

    kind: str
    name: str
    item: str | None = None


@attrs.frozen
class Const:
    """A constant, by its index in ``Lowered.constants``."""

    index: int
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Read:
    """The value of a slot."""

    slot: Slot
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Apply:
    """An operator applied to operands, each evaluated once: its meaning is unknown when any operand is.

    ``op`` is a comparison (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``), arithmetic
    (``+``, ``-``, ``*``, ``/``), ``neg``, ``not``, ``in``/``not in`` (the
    operand, then the options), ``empty``/``not empty`` or ``length``.
    """

    op: str
    operands: tuple[Expr, ...]
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Logic:
    """``and``/``or``: stops at the first operand that settles it."""

    op: str
    operands: tuple[Expr, ...]
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Known:
    """Whether a fact, or a field of an item, was given."""

    slot: Slot
    negated: bool
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Quantify:
    """``any``/``every``/``no``/``count`` over the items of a list: ``condition`` sees each as ``item``."""

    quantifier: str
    item: str
    collection: Slot
    condition: Expr
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class CountOf:
    """``any``/``all``/``none``/``at_least`` of a set of conditions; ``reasons`` is the set of reasons they come from, if any."""

    quantifier: str
    conditions: tuple[Expr, ...]
    at_least: int
    reasons: Slot | None
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Reasons:
    """``those of a, b that hold``: each member's name (a constant) with its condition."""

    members: tuple[tuple[int, Expr], ...]
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Choose:
    """``if C then A else B``: only the value chosen is worked out; with ``C`` unknown, both are, and the value is theirs if they agree."""

    condition: Expr
    then: Expr
    otherwise: Expr
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Total:
    """``total of value for each item in collection where condition``: the sum of ``value`` over the items for which ``condition`` holds."""

    item: str
    collection: Slot
    value: Expr
    condition: Expr | None
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


Expr = Const | Read | Apply | Logic | Known | Quantify | CountOf | Choose | Total


@attrs.frozen
class Condition:
    """A rule's condition, in the parts a trace shows: the operands of a top-level ``and``, or the whole as one part."""

    parts: tuple[Expr, ...]
    split: bool
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)

    @property
    def whole(self) -> Expr:
        return Logic("and", self.parts, source=self.source) if self.split else self.parts[0]


@attrs.frozen
class Rule:
    """A rule with the exceptions to it: ``level`` 0 is the default, each exception one deeper than the rule it overrides."""

    label: str
    decision: str
    level: int
    condition: Condition | None
    conclusion: Expr
    exceptions: tuple[Rule, ...]
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Decision:
    """A decision and its rule tree; ``per_item`` is ``(item, collection)`` for a decision made for each item of a list."""

    name: str
    per_item: tuple[str, Slot] | None
    root: Rule
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Define:
    name: str
    body: Expr | Reasons
    source: Any = attrs.field(default=None, eq=False, hash=False, repr=False, kw_only=True)


@attrs.frozen
class Lowered:
    """A whole policy, lowered.

    ``order`` is the defined values and decisions the reported results need
    (the outcome, priority, element outcomes, reasons and the header's
    ``results``), each after those it reads.
    """

    constants: tuple[Any, ...]
    facts: tuple[str, ...]
    defines: Mapping[str, Define] = attrs.field(hash=False)
    decisions: Mapping[str, Decision] = attrs.field(hash=False)
    order: tuple[str, ...]
    outcome: str | None
    priority: str | None
    reasons: str | None
    element_outcomes: str | None
    model: PolicyModel = attrs.field(eq=False, hash=False, repr=False)


class _Lowering:
    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self.constants: list[Any] = []
        self.index: dict[tuple[type, Any], int] = {}

    def const(self, value: Any, source: Any = None) -> Const:
        key = (type(value), value)
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.constants)
            self.constants.append(value)
        return Const(found, source=source)

    def slot(self, e: n.Name | n.Field) -> Slot:
        if isinstance(e, n.Field):
            return Slot("field", e.field, e.item)
        ref = self.model.refs[id(e)]
        return Slot(ref.kind, ref.name)

    def expr(self, e: n.Expr) -> Expr:
        if isinstance(e, n.Literal):
            if e.kind == "period":
                months, days = e.value  # type: ignore[misc]
                return self.const(Period(months, days, e.text), e)
            return self.const(e.value, e)
        if isinstance(e, n.Today):
            return Read(Slot("today", "today"), source=e)
        if isinstance(e, n.DateDiff):
            return Apply(f"{e.unit} from", (self.expr(e.start), self.expr(e.end)), source=e)
        if isinstance(e, n.Within):
            within = Apply("within", (self.expr(e.operand), self.expr(e.length), self.expr(e.centre)), source=e)
            return Apply("not", (within,), source=e) if e.negated else within
        if isinstance(e, n.Name):
            ref = self.model.refs[id(e)]
            if ref.kind == "value":
                return self.const(ref.name, e)
            return Read(self.slot(e), source=e)
        if isinstance(e, n.Field):
            return Read(self.slot(e), source=e)
        if isinstance(e, n.Not):
            return Apply("not", (self.expr(e.operand),), source=e)
        if isinstance(e, n.Neg):
            return Apply("neg", (self.expr(e.operand),), source=e)
        if isinstance(e, n.Arith) and self.model.type_of(e) == DATE:
            # A date moved by a period, which may be written first (``8 years + date_of_birth``).
            op = "date " + e.op if self.model.type_of(e.left) == DATE else "period +"
            return Apply(op, (self.expr(e.left), self.expr(e.right)), source=e)
        if isinstance(e, n.Compare | n.Arith):
            return Apply(e.op, (self.expr(e.left), self.expr(e.right)), source=e)
        if isinstance(e, n.Between):
            return Apply("between", (self.expr(e.operand), self.expr(e.low), self.expr(e.high)), source=e)
        if isinstance(e, n.Member):
            return Apply("not in" if e.negated else "in", tuple(self.expr(x) for x in (e.operand, *e.options)), source=e)
        if isinstance(e, n.Length):
            return Apply("length", (self.expr(e.collection),), source=e)
        if isinstance(e, n.Test):
            if e.test == "known":
                return Known(self.slot(e.operand), e.negated, source=e)  # type: ignore[arg-type]
            return Apply("not empty" if e.negated else "empty", (self.expr(e.operand),), source=e)
        if isinstance(e, n.BoolOp):
            return Logic(e.op, tuple(self.expr(x) for x in e.operands), source=e)
        if isinstance(e, n.Over):
            return Quantify(e.quantifier, e.item, self.slot(e.collection), self.expr(e.condition), source=e)
        if isinstance(e, n.CountOf):
            if e.reasons is not None:
                members = self.model.defines[e.reasons.name].body.members  # type: ignore[union-attr]
                return CountOf(e.quantifier, tuple(self.expr(m) for m in members), int(e.at_least), Slot("define", e.reasons.name), source=e)
            return CountOf(e.quantifier, tuple(self.expr(c) for c in e.conditions), int(e.at_least), None, source=e)
        if isinstance(e, n.Extreme):
            return Apply(e.which, tuple(self.expr(x) for x in e.operands), source=e)
        if isinstance(e, n.Rounded):
            return Apply(f"rounded {e.direction} {e.unit}", (self.expr(e.operand),), source=e)
        if isinstance(e, n.ScaleApplied):
            return Apply("scale", (Read(self.slot(e.scale), source=e.scale), self.expr(e.amount)), source=e)
        if isinstance(e, n.Conditional):
            return Choose(self.expr(e.condition), self.expr(e.then), self.expr(e.otherwise), source=e)
        if isinstance(e, n.Total):
            condition = self.expr(e.condition) if e.condition is not None else None
            return Total(e.item, self.slot(e.collection), self.expr(e.value), condition, source=e)
        raise AssertionError(f"no lowering for {type(e).__name__}")

    def condition(self, e: n.Expr | None) -> Condition | None:
        if e is None:
            return None
        if isinstance(e, n.BoolOp) and e.op == "and":
            return Condition(tuple(self.expr(x) for x in e.operands), True, source=e)
        return Condition((self.expr(e),), False, source=e)

    def rule(self, label: str, level: int) -> Rule:
        decl = self.model.rules[label]
        exceptions = tuple(self.rule(child, level + 1) for child in self.model.children.get(label, []))
        return Rule(label, decl.decision.name, level, self.condition(decl.condition), self.expr(decl.conclusion), exceptions, source=decl)

    def define(self, decl: n.DefineDecl) -> Define:
        body = decl.body
        if isinstance(body, n.ReasonsSet):
            members = tuple((self.const(m.name).index, self.expr(m)) for m in body.members)
            return Define(decl.name, Reasons(members, source=body), source=decl)
        return Define(decl.name, self.expr(body), source=decl)

    def decision(self, decl: n.DecisionDecl) -> Decision:
        per_item = (decl.for_each.item, Slot("fact", decl.for_each.collection.name)) if decl.for_each is not None else None
        return Decision(decl.name, per_item, self.rule(self.model.default_rule[decl.name], 0), source=decl)


def lower(model: PolicyModel) -> Lowered:
    """The lowered form of a checked policy (one without errors)."""
    lowering = _Lowering(model)
    defines = {name: lowering.define(decl) for name, decl in model.defines.items()}
    decisions = {name: lowering.decision(decl) for name, decl in model.decisions.items() if name in model.default_rule}
    return Lowered(
        tuple(lowering.constants),
        tuple(model.facts),
        defines,
        decisions,
        _order(model),
        model.outcome,
        model.priority,
        model.reasons,
        model.element_outcomes,
        model,
    )


def _order(model: PolicyModel) -> tuple[str, ...]:
    """The defined values and decisions the reported results need, in dependency order."""
    deps = dependencies(model)
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in deps.get(name, []):
            visit(dep)
        order.append(name)

    for name in (model.outcome, model.priority, model.element_outcomes, model.reasons, *model.results):
        if name:
            visit(name)
    return tuple(order)


def children(e: Expr | Reasons) -> tuple[Expr, ...]:
    """The operands of a lowered expression, in evaluation order."""
    if isinstance(e, Apply | Logic):
        return e.operands
    if isinstance(e, CountOf):
        return e.conditions
    if isinstance(e, Quantify):
        return (Read(e.collection), e.condition)
    if isinstance(e, Reasons):
        return tuple(x for _name, x in e.members)
    if isinstance(e, Choose):
        return (e.condition, e.then, e.otherwise)
    if isinstance(e, Total):
        return (Read(e.collection), *((e.condition,) if e.condition is not None else ()), e.value)
    return ()


def walk(e: Expr | Reasons) -> Iterator[Expr | Reasons]:
    """Every node of a lowered expression, itself first."""
    yield e
    for child in children(e):
        yield from walk(child)


def may_read_twice(e: Expr | Reasons) -> bool:
    """Whether evaluating ``e`` may read one name twice; only then do its recorded reads need thinning to the first of each.

    A field is read once for each item (and quantifiers may nest), and a
    count over a set of reasons reads the set, then each of its members.
    """
    names: list[Slot] = []
    for node in walk(e):
        if isinstance(node, Quantify | Total) or (isinstance(node, CountOf) and node.reasons is not None):
            return True
        if isinstance(node, Read) and node.slot.kind != "item":
            names.append(node.slot)
    return len(names) != len(set(names))
