"""Checked AST to compiled policy: every expression becomes a Python closure.

Closures are built from the AST by structure; no text of a rule file is ever
turned into Python source, so a rule file cannot run code. Each closure takes
the evaluation ``Env`` (see ``evaluator``) and returns a value or ``UNKNOWN``,
following Kleene's three-valued logic.

Comparisons, memberships, emptiness tests and quantifiers over lists are the
"leaves" of a condition. When one of them is unknown only because a number,
money, date, text or list fact is missing (values that cannot be enumerated),
it becomes an *atom*: a yes/no question the search for needed facts can
branch on, answered by those missing facts.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import TYPE_CHECKING, Any

import attrs

from policy_rules.engine.values import UNKNOWN, Type
from policy_rules.errors import PolicyError
from policy_rules.language import nodes as n
from policy_rules.language.checker import PolicyModel, Ref, type_from_ref

if TYPE_CHECKING:
    from policy_rules.engine.evaluator import Env

Fn = Callable[["Env"], Any]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

BRANCHABLE = frozenset({"yes/no", "one of"})

_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class EvaluationError(PolicyError):
    """A rule that cannot be applied to these facts (a division by zero, a parameter with no value then)."""


@attrs.frozen
class CompiledRule:
    label: str
    decision: str
    node: n.RuleDecl
    condition: Fn | None
    conclusion: Fn
    children: tuple[CompiledRule, ...]


@attrs.frozen
class CompiledDecision:
    name: str
    node: n.DecisionDecl
    root: CompiledRule
    item: str | None
    collection: str | None
    values: tuple[str, ...]


@attrs.frozen
class CompiledDefine:
    name: str
    node: n.DefineDecl
    fn: Fn
    members: tuple[tuple[str, Fn], ...] | None  # for a set of reasons


@attrs.frozen
class CompiledPolicy:
    model: PolicyModel
    defines: dict[str, CompiledDefine]
    decisions: dict[str, CompiledDecision]
    parameters: dict[str, tuple[tuple[date, date | None, Any], ...]]
    fact_order: dict[str, int]
    field_order: dict[tuple[str, str], int]
    field_types: dict[tuple[str, str], Type]
    atom_count: int
    parts: dict[int, Fn]
    #: what the trace shows of the rule files (texts of conditions, citations), worked out once per policy
    shown: dict[Any, Any] = attrs.field(factory=dict, eq=False)


class Compiler:
    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self.atoms = 0
        self.defines: dict[str, CompiledDefine] = {}
        self.decisions: dict[str, CompiledDecision] = {}
        self.parts: dict[int, Fn] = {}

    def compile(self) -> CompiledPolicy:
        m = self.model
        for name in m.defines:
            self.define(name)
        for name in m.decisions:
            self.decision(name)
        decisions = {name: self.decisions[name] for name in m.decisions if name in self.decisions}
        parameters = {
            name: tuple(sorted(((v.valid_from, v.valid_until, v.value.value) for v in p.values), key=lambda t: t[0]))
            for name, p in m.parameters.items()
        }
        field_order = {}
        field_types = {}
        for record in m.records.values():
            for i, f in enumerate(record.fields):
                field_order[(record.name, f.name)] = i
                field_types[(record.name, f.name)] = type_from_ref(f.type)
        return CompiledPolicy(
            model=m,
            defines=self.defines,
            decisions=decisions,
            parameters=parameters,
            fact_order={name: i for i, name in enumerate(m.facts)},
            field_order=field_order,
            field_types=field_types,
            atom_count=self.atoms,
            parts=self.parts,
        )

    def define(self, name: str) -> CompiledDefine:
        if name in self.defines:
            return self.defines[name]
        node = self.model.defines[name]
        if isinstance(node.body, n.ReasonsSet):
            members = tuple((m.name, self.expr(m)) for m in node.body.members)
            fns = tuple(fn for _, fn in members)
            names = tuple(nm for nm, _ in members)

            def reasons(env: Env) -> Any:
                held = []
                unknown = False
                for nm, fn in zip(names, fns, strict=True):
                    v = fn(env)
                    if v is UNKNOWN:
                        unknown = True
                    elif v:
                        held.append(nm)
                return UNKNOWN if unknown and not held else tuple(held)

            compiled = CompiledDefine(name, node, reasons, members)
        else:
            compiled = CompiledDefine(name, node, self.expr(node.body), None)
        self.defines[name] = compiled
        return compiled

    def decision(self, name: str) -> CompiledDecision | None:
        """Compile a decision (once), after the decisions and defined values its rules read.

        Compiling what a value reads before the value itself numbers the leaf
        tests inner-first, so an atom is always ordered after the atoms it is
        worked out from (see ``evaluator.var_order``).
        """
        if name in self.decisions:
            return self.decisions[name]
        m = self.model
        root_label = m.default_rule.get(name)
        if root_label is None:
            return None
        d = m.decisions[name]
        compiled = CompiledDecision(
            name=name,
            node=d,
            root=self.rule(root_label),
            item=d.for_each.item if d.for_each else None,
            collection=d.for_each.collection.name if d.for_each else None,
            values=tuple(o.name for o in d.outcomes),
        )
        self.decisions[name] = compiled
        return compiled

    def rule(self, label: str) -> CompiledRule:
        m = self.model
        node = m.rules[label]
        return CompiledRule(
            label=label,
            decision=node.decision.name,
            node=node,
            condition=self.expr(node.condition) if node.condition is not None else None,
            conclusion=self.expr(node.conclusion),
            children=tuple(self.rule(child) for child in m.children.get(label, [])),
        )

    # --- expressions ------------------------------------------------------------

    def type_of(self, e: object) -> Type:
        return self.model.type_of(e)

    def expr(self, e: n.Expr) -> Fn:
        method = getattr(self, "_" + type(e).__name__.lower())
        fn = method(e)
        self.parts[id(e)] = fn
        return fn

    def _literal(self, e: n.Literal) -> Fn:
        value = e.value

        def literal(env: Env) -> Any:
            return value

        return literal

    def _name(self, e: n.Name) -> Fn:
        ref: Ref = self.model.refs[id(e)]
        name = ref.name
        if ref.kind == "value":

            def outcome_value(env: Env) -> Any:
                return name

            return outcome_value
        if ref.kind == "fact":
            branchable = self.model.fact_types[name].kind in BRANCHABLE

            def fact(env: Env) -> Any:
                v = env.facts.get(name, UNKNOWN)
                if v is UNKNOWN:
                    v = env.missing_fact(name, branchable)
                if env.reads is not None:
                    env.read("fact", name, v)
                return v

            return fact
        if ref.kind == "define":
            self.define(name)  # inner leaves first: see ``decision``

            def defined(env: Env) -> Any:
                return env.defined(name)

            return defined
        if ref.kind == "parameter":

            def parameter(env: Env) -> Any:
                return env.parameter(name)

            return parameter
        if ref.kind == "decision":
            self.decision(name)

            def decision(env: Env) -> Any:
                return env.decision(name)

            return decision
        if ref.kind == "item":

            def item(env: Env) -> Any:
                return env.items[name]

            return item
        raise AssertionError(ref)

    def _field(self, e: n.Field) -> Fn:
        item, field = e.item, e.field
        branchable = self.type_of(e).kind in BRANCHABLE

        def field_value(env: Env) -> Any:
            collection, index, record = env.items[item]
            v = record.get(field, UNKNOWN)
            if v is UNKNOWN:
                v = env.missing_field(collection, index, field, branchable)
            if env.reads is not None:
                env.read("field", f"{collection}[{index}].{field}", v)
            return v

        return field_value

    def _not(self, e: n.Not) -> Fn:
        operand = self.expr(e.operand)

        def negate(env: Env) -> Any:
            v = operand(env)
            return v if v is UNKNOWN else not v

        return negate

    def _boolop(self, e: n.BoolOp) -> Fn:
        operands = tuple(self.expr(x) for x in e.operands)
        if e.op == "and":

            def all_true(env: Env) -> Any:
                result: Any = True
                for fn in operands:
                    v = fn(env)
                    if v is False:
                        return False
                    if v is UNKNOWN:
                        result = UNKNOWN
                return result

            return all_true

        def any_true(env: Env) -> Any:
            result: Any = False
            for fn in operands:
                v = fn(env)
                if v is True:
                    return True
                if v is UNKNOWN:
                    result = UNKNOWN
            return result

        return any_true

    def _leaf(self, compute: Callable[[Env], Any], bounds: bool = False) -> Fn:
        """Wrap a leaf test so that an unknown caused only by unenumerable facts becomes an atom.

        With ``bounds``, the test (a comparison) leaves in ``env.bound`` the
        bound it puts on one missing fact, when it is one: see ``_compare``.
        """
        number = self.atoms
        self.atoms += 1

        def leaf(env: Env) -> Any:
            branch_reads, raw_reads, looked = env.branch_reads, len(env.raw), len(env.looked_up)
            v = compute(env)
            if v is UNKNOWN:
                return env.atom(number, branch_reads, raw_reads, looked, env.bound if bounds else None)
            return v

        return leaf

    def _compare(self, e: n.Compare) -> Fn:
        left, right = self.expr(e.left), self.expr(e.right)
        op = _COMPARE[e.op]
        left_fact, right_fact = self._bounded_fact(e.left), self._bounded_fact(e.right)
        flipped = _FLIPPED[e.op]

        def compare(env: Env) -> Any:
            a, b = left(env), right(env)
            env.bound = None
            if a is UNKNOWN or b is UNKNOWN:
                # ``fact OP known value``: a bound on one missing fact, which lets the
                # search see that two such comparisons constrain each other.
                if a is UNKNOWN and b is not UNKNOWN and left_fact is not None:
                    env.bound = (left_fact, e.op, b)
                elif b is UNKNOWN and a is not UNKNOWN and right_fact is not None:
                    env.bound = (right_fact, flipped, a)
                return UNKNOWN
            return op(a, b)

        return self._leaf(compare, bounds=True)

    def _bounded_fact(self, e: n.Expr) -> str | None:
        """The fact an operand names, when it is a number, money, a percentage, a date or text."""
        if not isinstance(e, n.Name):
            return None
        ref = self.model.refs.get(id(e))
        if ref is None or ref.kind != "fact":
            return None
        kind = self.model.fact_types[ref.name].kind
        return ref.name if kind in ("number", "whole number", "money", "percentage", "date", "text") else None

    def _member(self, e: n.Member) -> Fn:
        operand = self.expr(e.operand)
        options = tuple(self.expr(x) for x in e.options)
        negated = e.negated

        def member(env: Env) -> Any:
            v = operand(env)
            if v is UNKNOWN:
                # The options are still read: knowing more must never make an
                # evaluation read more (see ``docs/unknown-facts.md``).
                for fn in options:
                    fn(env)
                return UNKNOWN
            unknown = False
            for fn in options:
                o = fn(env)
                if o is UNKNOWN:
                    unknown = True
                elif o == v:
                    return not negated
            return UNKNOWN if unknown else negated

        return self._leaf(member)

    def _test(self, e: n.Test) -> Fn:
        negated = e.negated
        if e.test == "known":
            target = e.operand
            if isinstance(target, n.Field):
                item, field = target.item, target.field

                def field_known(env: Env) -> Any:
                    return (env.items[item][2].get(field, UNKNOWN) is not UNKNOWN) != negated

                return field_known
            name = target.name if isinstance(target, n.Name) else ""

            def known(env: Env) -> Any:
                return (env.facts.get(name, UNKNOWN) is not UNKNOWN) != negated

            return known
        operand = self.expr(e.operand)

        def empty(env: Env) -> Any:
            v = operand(env)
            if v is UNKNOWN:
                return UNKNOWN
            return (len(v) == 0) != negated

        return self._leaf(empty)

    def _arith(self, e: n.Arith) -> Fn:
        left, right = self.expr(e.left), self.expr(e.right)
        op = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[e.op]
        span = e.span

        def arith(env: Env) -> Any:
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            try:
                return op(a, b)
            except (ZeroDivisionError, DivisionByZero, InvalidOperation) as error:
                raise EvaluationError(f"this calculation divides by zero for service {env.service!r}", str(span)) from error

        return arith

    def _neg(self, e: n.Neg) -> Fn:
        operand = self.expr(e.operand)

        def neg(env: Env) -> Any:
            v = operand(env)
            return v if v is UNKNOWN else -v

        return neg

    def _countof(self, e: n.CountOf) -> Fn:
        if e.reasons is not None:
            members = self.define(e.reasons.name).members or ()
            conditions = tuple(fn for _, fn in members)
            reasons_name = e.reasons.name
        else:
            conditions = tuple(self.expr(c) for c in e.conditions)
            reasons_name = None
        quantifier, at_least = e.quantifier, e.at_least

        def count_of(env: Env) -> Any:
            if reasons_name is not None and env.reads is not None:
                env.defined(reasons_name)
            true = false = unknown = 0
            total = len(conditions)
            for fn in conditions:
                v = fn(env)
                if v is UNKNOWN:
                    unknown += 1
                elif v:
                    true += 1
                else:
                    false += 1
                if _settled(quantifier, true, false, total, at_least):
                    break
            return _quantify(quantifier, true, false, total, at_least)

        return count_of

    def _over(self, e: n.Over) -> Fn:
        collection = self.expr(e.collection)
        collection_name = e.collection.name
        condition = self.expr(e.condition)
        quantifier, item = e.quantifier, e.item
        quantified = None if quantifier == "count" else {"every": "all", "no": "none"}.get(quantifier, quantifier)

        def over(env: Env) -> Any:
            items = collection(env)
            if items is UNKNOWN:
                return UNKNOWN
            true = false = unknown = 0
            saved = env.items.get(item)
            try:
                for index, record in enumerate(items):
                    env.items[item] = (collection_name, index, record)
                    v = condition(env)
                    if v is UNKNOWN:
                        unknown += 1
                    elif v:
                        true += 1
                    else:
                        false += 1
                    if quantified is not None and _settled(quantified, true, false, len(items), 1):
                        break
            finally:
                if saved is None:
                    env.items.pop(item, None)
                else:
                    env.items[item] = saved
            if quantified is None:
                return UNKNOWN if unknown else Decimal(true)
            return _quantify(quantified, true, false, len(items), 1)

        return over if quantifier == "count" else self._leaf(over)

    def _length(self, e: n.Length) -> Fn:
        collection = self.expr(e.collection)

        def length(env: Env) -> Any:
            items = collection(env)
            return UNKNOWN if items is UNKNOWN else Decimal(len(items))

        return length


def _settled(quantifier: str, true: int, false: int, total: int, at_least: int) -> bool:
    """Whether the conditions seen so far settle the quantifier, whatever the rest are.

    Stopping there, as ``and`` and ``or`` do, keeps an evaluation from reading
    facts that cannot matter.
    """
    if quantifier in ("any", "none"):
        return true > 0
    if quantifier == "all":
        return false > 0
    return true >= at_least or total - false < at_least


def _quantify(quantifier: str, true: int, false: int, total: int, at_least: int) -> Any:
    """Kleene's value of a quantifier; conditions neither true nor false (unknown or not looked at) are unknown."""
    unknown = total - true - false
    if quantifier == "any":
        return True if true else UNKNOWN if unknown else False
    if quantifier == "all":
        return False if false else UNKNOWN if unknown else True
    if quantifier == "none":
        return False if true else UNKNOWN if unknown else True
    if true >= at_least:
        return True
    if total - false < at_least:
        return False
    return UNKNOWN


def compile_policy(model: PolicyModel) -> CompiledPolicy:
    return Compiler(model).compile()
