"""Checked model to compiled policy: the three-valued mode of the code generator, assembled for the evaluator.

Its place: the functions compiled here are the evaluator's (see its
docstring for the decisions that take that route: a missing fact, a
conflict, an evaluation error); the generated two-valued and traced modes
are compiled by ``policy_function`` and ``traced_function``.

``codegen.ThreeValued`` writes one Python function of the evaluation ``Env``
(see ``evaluator``) for each defined value, rule condition (and each part of
a condition the trace shows) and conclusion; this module compiles them in
one go and hangs them on the rule trees the evaluator walks. Each function
returns a value or ``UNKNOWN``, following Kleene's three-valued logic.

Generated source holds numbered names and constants by index only, so a rule
file cannot run code. An exception from generated code other than an
``EvaluationError`` (a division by zero, a parameter with no value on the
date) or a conflict is a bug: nothing here catches it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import TYPE_CHECKING, Any

import attrs

from policy_rules.engine.amounts import HELPERS as AMOUNT_HELPERS
from policy_rules.engine.codegen import ThreeValued
from policy_rules.engine.lowering import Rule, lower
from policy_rules.errors import PolicyError
from policy_rules.language import nodes as n
from policy_rules.language.checker import PolicyModel, parameter_periods, type_from_ref
from policy_rules.values.dates import HELPERS as DATE_HELPERS
from policy_rules.values.dates import OutsideCalendar
from policy_rules.values.types import UNKNOWN, Type

if TYPE_CHECKING:
    from policy_rules.engine.evaluator import Env

Fn = Callable[["Env"], Any]


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


@attrs.frozen
class Functions:
    """The generated three-valued functions, hung on the rule trees; ``atom_count`` leaves; ``source`` for whoever debugs them."""

    defines: dict[str, CompiledDefine]
    decisions: dict[str, CompiledDecision]
    #: the function of each rule condition, and of each part of one, by the id of its AST node (the trace works out the parts that fail)
    parts: dict[int, Fn]
    atom_count: int
    source: str = attrs.field(repr=False)


@attrs.frozen
class CompiledPolicy:
    """A checked policy ready for three-valued evaluation.

    The functions are generated and compiled on the first evaluation that
    needs them (a service with facts missing, or the reference in tests):
    a policy whose services are all complete never pays for them, and
    loading stays as fast as the modes it does use.
    """

    model: PolicyModel
    parameters: dict[str, tuple[tuple[date, date | None, Any], ...]]
    fact_order: dict[str, int]
    field_order: dict[tuple[str, str], int]
    field_types: dict[tuple[str, str], Type]
    #: what the trace shows of the rule files (texts of conditions, citations), worked out once per policy
    shown: dict[Any, Any] = attrs.field(factory=dict, eq=False)
    _functions: list[Functions] = attrs.field(factory=list, eq=False, repr=False, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, eq=False, repr=False, init=False)

    @property
    def functions(self) -> Functions:
        if not self._functions:
            with self._lock:
                if not self._functions:
                    self._functions.append(_generate(self.model))
        return self._functions[0]

    @property
    def defines(self) -> dict[str, CompiledDefine]:
        return self.functions.defines

    @property
    def decisions(self) -> dict[str, CompiledDecision]:
        return self.functions.decisions

    @property
    def parts(self) -> dict[int, Fn]:
        return self.functions.parts

    @property
    def source(self) -> str:
        """The generated three-valued source."""
        return self.functions.source


def divide(a: Any, b: Any, env: Env, where: str) -> Any:
    """``a / b`` for generated code: by zero, an error that says where."""
    try:
        return a / b
    except (ZeroDivisionError, DivisionByZero, InvalidOperation) as error:
        raise EvaluationError(f"this calculation divides by zero for service {env.service!r}", where) from error


def calendar(work: Any, env: Env, where: str) -> Any:
    """A date worked out by generated code: beyond the calendar, an error that says where."""
    try:
        return work()
    except OutsideCalendar as error:
        raise EvaluationError(f"this date calculation cannot be made for service {env.service!r}: {error}", where) from error


def compile_policy(model: PolicyModel) -> CompiledPolicy:
    """A checked policy with the orders and parameter periods the evaluator reads; its functions are generated when first needed."""
    field_order = {}
    field_types = {}
    for record in model.records.values():
        for i, f in enumerate(record.fields):
            field_order[(record.name, f.name)] = i
            field_types[(record.name, f.name)] = type_from_ref(f.type)
    return CompiledPolicy(
        model=model,
        parameters={name: parameter_periods(p) for name, p in model.parameters.items()},
        fact_order={name: i for i, name in enumerate(model.facts)},
        field_order=field_order,
        field_types=field_types,
    )


def _generate(model: PolicyModel) -> Functions:
    """Generate, compile (in one go) and assemble the three-valued functions of a checked policy."""
    writer = ThreeValued(lower(model))
    source = writer.generate()
    namespace: dict[str, Any] = {
        "UNKNOWN": UNKNOWN,
        "D": Decimal,
        "DIVIDE": divide,
        "CALENDAR": calendar,
        **DATE_HELPERS,
        **AMOUNT_HELPERS,
        "__builtins__": __builtins__,
    }
    namespace.update((writer.constant_name(index), value) for index, value in enumerate(writer.constants))
    exec(compile(source, "<policy_rules three-valued functions>", "exec"), namespace)

    def rule(r: Rule) -> CompiledRule:
        condition, conclusion = writer.rules[r.label]
        return CompiledRule(
            label=r.label,
            decision=r.decision,
            node=model.rules[r.label],
            condition=namespace[condition] if condition is not None else None,
            conclusion=namespace[conclusion],
            children=tuple(rule(x) for x in r.exceptions),
        )

    decisions = {}
    for name, lowered in writer.lowered.decisions.items():
        d = model.decisions[name]
        decisions[name] = CompiledDecision(
            name=name,
            node=d,
            root=rule(lowered.root),
            item=d.for_each.item if d.for_each else None,
            collection=d.for_each.collection.name if d.for_each else None,
            values=tuple(o.name for o in d.outcomes),
        )
    return Functions(
        defines={name: CompiledDefine(name, model.defines[name], namespace[fn]) for name, fn in writer.defines.items()},
        decisions=decisions,
        parts={id(node): namespace[fn] for node, fn in writer.parts},
        atom_count=len(writer.atoms),
        source=source,
    )
