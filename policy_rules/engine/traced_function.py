"""The traced path: the explanation recorded by generated code, for services whose facts are all known.

The closures of ``compiler`` and the ``TracingEnv`` of ``evaluator`` work out
any decision, with missing facts, atoms and the search for needed facts; all
that generality costs time on every value read. When every fact a decision
reads is known, none of it is needed: logic is two-valued, and every rule
that applies is the one that decides. The code generator's ``traced`` mode
(``engine.codegen.Traced``) writes, once per policy, Python that evaluates the
policy as lazily as the ``TracingEnv`` does and records the same events in the
same order; this module assembles that code (``TracedPath``) and gives it the
helpers that make the events (``_runtime``), sharing equal reads and values.

What it records must be exactly what the full path records:

* a condition reads facts, defined values, decisions, parameters and fields
  in evaluation order (``and``/``or`` and quantifiers stop once settled); the
  trace keeps the first read of each name;
* a defined value is worked out (an event) when first read, after the values
  it reads itself; a decision is made (an event) when first needed;
* an exception that applies overrides its rule; the rule's own condition is
  still worked out, to say whether it was overridden or would not have
  applied; the rule that applies at the end of that chain decided;
* the failed part of an ``and`` is its first operand that is false; of any
  other condition, the whole condition.

What only the full path handles (a missing fact or field, a conflict, a
division by zero, a parameter with no value on the date) makes the generated
code raise ``CannotDecide``, and only that; the full path then works the
decision out, or reports the error with its location. Any other exception is
a bug in the generated code, and propagates. ``tests/engine/test_traced_function.py``
checks that both paths give identical decisions, trace included.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from policy_rules.engine import trace as t
from policy_rules.engine.amounts import HELPERS as AMOUNT_HELPERS
from policy_rules.engine.codegen import DATES_OR_GIVE_UP, CannotDecide, Traced
from policy_rules.engine.compiler import CompiledPolicy
from policy_rules.engine.evaluator import _citations, _source_text, _truth, decision_shown
from policy_rules.engine.lowering import Lowered
from policy_rules.engine.policy_function import _parameter_lookup, divide
from policy_rules.values.types import format_value, json_value

_NONE = object()
_TRUTH = {True: "true", False: "false"}
_new = tuple.__new__

#: Equal events are shared between decisions (they are immutable); each table of
#: them is emptied when it grows this large.
CACHE_LIMIT = 50_000


class TracedPath:
    """``traced(facts, as_of)`` gives the decision's values and its events, or ``None`` to take the full path.

    The result is ``(outcome, priority, element outcomes, reasons, fact
    reads, values worked out, decisions made, the header's results)``.
    """

    def __init__(self, compiled: CompiledPolicy, lowered: Lowered) -> None:
        model = compiled.model
        self.source = ""
        self._traced: Any = None
        if not model.outcome:
            return
        w = Traced(
            lowered,
            text=lambda node: _source_text(compiled, node),
            citations=lambda citations: _citations(compiled, citations),
            parameter_kind=lambda name: model.name_types[name].kind,
        )
        outcome, _ = w.decision(model.outcome)
        priority = w.decision(model.priority)[0] + "()" if model.priority else "None"
        elements = "()"
        if model.element_outcomes:
            per_item = model.decisions[model.element_outcomes]
            assert per_item.for_each is not None
            fn = w.per_item(model.element_outcomes)
            elements = f"tuple({fn}(i, r) for i, r in enumerate(f.get({w.const(per_item.for_each.collection.name)}, ())))"
        reasons = f"tuple({w.define(model.reasons)[0]}())" if model.reasons else "()"
        values = "".join(f"{(w.define(name) if name in model.defines else w.decision(name))[0]}(), " for name in model.results)
        lines = ["def traced(f, as_of):", "    g = f.get"]
        # The read of each fact given: shared with earlier decisions when the value is the same.
        for index, name in enumerate(model.facts):
            kind = model.fact_types[name].kind
            info = ("fact", name, kind, {})
            lines.append(f"    v{index} = v = g({w.const(name)}, NONE)")
            if kind == "list":
                lines.append(f"    F{index} = None if v is NONE else READ({w.static(info)}, v)")
            else:
                lines.append(f"    F{index} = None if v is NONE else ({w.static(info[3])}.get(v) or READ({w.static(info)}, v))")
        lines += [f"    FR = ({''.join(f'F{i}, ' for i in range(len(model.facts)))})", "    W = []", "    M = []"]
        for _fn, memo, read in w.memo_names:
            lines.append(f"    {memo} = NONE")
            lines.append(f"    {read} = None")
        lines.extend(f"    {memo} = {{}}" for memo in w.item_memos)
        for body in w.bodies:
            lines.extend("    " + line for line in body)
        lines.append(f"    o = {outcome}()")
        lines.append(f"    p = {priority}")
        lines.append(f"    l = {elements}")
        # The results before the reasons, as the full path works them out: a value first worked out by either is recorded there.
        results = w.fresh("x")
        lines.append(f"    {results} = ({values})")
        lines.append(f"    s = {reasons}")
        lines.append(f"    return o, p, l, s, FR, W, M, {results}")
        self.source = "\n".join(lines) + "\n"
        self.constants = tuple(w.constants)
        namespace: dict[str, Any] = {
            "__builtins__": {"any": any, "all": all, "len": len, "sum": sum, "tuple": tuple, "enumerate": enumerate},
            "K": self.constants,
            "NONE": _NONE,
            "D": Decimal,
            "CannotDecide": CannotDecide,
            "DIV": divide,
            **DATES_OR_GIVE_UP,
            **AMOUNT_HELPERS,
            **_runtime(compiled),
        }
        # The source holds numbered names and constant-table indexes only (see the module docstring).
        exec(compile(self.source, "<policy_rules traced path>", "exec"), namespace)
        self._traced = namespace["traced"]

    def __call__(self, facts: Mapping[str, Any], as_of: date) -> tuple[Any, ...] | None:
        if self._traced is None:
            return None
        try:
            return self._traced(facts, as_of)
        except CannotDecide:
            return None


def _store(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Keep ``value`` under ``key``, emptying the table first when it is full; gives ``value``."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _runtime(compiled: CompiledPolicy) -> dict[str, Any]:
    """The helpers the generated code calls: reads and events, reads and values worked out shared where they are equal.

    Events are immutable, so equal reads and values worked out are one
    object: a cache keyed by the values and the identities of the reads an
    event holds. A cached event keeps those alive, so no identity in a key can
    be reused while its entry exists. Caches are emptied when they grow large;
    that only loses sharing. Conditions and rules considered are made anew
    each time (``RULE`` is ``tuple.__new__`` itself): building a named tuple
    costs less than the key that would find an equal one, and in a large
    policy they repeat from service to service far less often than reads do.
    """
    param = _parameter_lookup(compiled.parameters)
    values: dict[tuple[Any, ...], t.ValueWorkedOut] = {}
    fields: dict[tuple[Any, ...], t.Read] = {}

    def new_read(kind: str, name: str, shown_kind: str | None, value: Any) -> t.Read:
        return t.Read(kind, name, json_value(value), format_value(value, shown_kind), True)

    def read(info: tuple[str, str, str | None, dict[Any, t.Read]], value: Any) -> t.Read:
        kind, name, shown_kind, cache = info
        try:
            found = cache.get(value)
        except TypeError:  # a list: not shared
            return new_read(kind, name, shown_kind, value)
        if found is None:
            found = _store(cache, value, new_read(kind, name, shown_kind, value))
        return found

    def field(append: Any, record: Mapping[str, Any], name: str, collection: str, index: int) -> Any:
        if name not in record:
            raise CannotDecide  # a field not given: the full path handles it
        value = record[name]
        key = (collection, index, name, value)
        found = fields.get(key)
        if found is None:
            found = _store(fields, key, new_read("field", f"{collection}[{index}].{name}", None, value))
        append(found)
        return value

    def item_decision(append: Any, decide: Any, index: int, record: Mapping[str, Any], name: str, collection: str, kind: str | None) -> Any:
        value = decide(index, record)
        key = ("decision", collection, index, name, value)
        found = fields.get(key)
        if found is None:
            found = _store(fields, key, new_read("decision", f"{collection}[{index}].{name}", kind, value))
        append(found)
        return value

    def parameter(append: Any, name: str, info: tuple[str, str, str | None, dict[Any, t.Read]], as_of: date) -> Any:
        value = param(name, as_of)
        append(read(info, value))
        return value

    def unique(reads_: list[t.Read]) -> list[t.Read]:
        seen: dict[str, t.Read] = {}
        for r in reads_:
            if r.name not in seen:
                seen[r.name] = r
        return list(seen.values())

    def condition(info: tuple[str, tuple[tuple[str, ...], ...], bool], holds: Any, reads_: list[t.Read], failed: int) -> t.Condition:
        if info[2]:
            reads_ = unique(reads_)
        return _new(t.Condition, (info[0], _TRUTH[holds] if type(holds) is bool else _truth(holds), tuple(reads_), info[1][failed] if failed >= 0 else (), ()))

    def worked_out(info: tuple[Any, ...], value: Any, reads_: list[t.Read]) -> t.ValueWorkedOut:
        if info[6]:
            reads_ = unique(reads_)
        try:
            key = (id(info), type(value), value, *map(id, reads_))
            found = values.get(key)
        except TypeError:
            key, found = None, None
        if found is None:
            name, kind, location, citations, because, text, _twice = info
            found = t.ValueWorkedOut(
                name, json_value(value), format_value(value, kind), location, citations, because, t.Condition(text, _truth(value), tuple(reads_))
            )
            if key is not None:
                _store(values, key, found)
        return found

    def made(decision: str, item: str | None, value: Any, decided_by: str | None, event: t.RuleConsidered) -> t.DecisionMade:
        return t.DecisionMade(decision, item, value if type(value) is str else decision_shown(compiled, decision, value), decided_by, event)

    def item(collection: str, index: int, record: Mapping[str, Any]) -> str:
        label = record.get("name")
        return f"{collection}[{index}]" + (f" ({label})" if isinstance(label, str) else "")

    def member(value: Any, options: tuple[Any, ...], negated: bool) -> bool:
        for option in options:
            if option() == value:
                return not negated
        return negated

    def at_least(count: int, conditions_: tuple[Any, ...]) -> bool:
        true = false = 0
        total = len(conditions_)
        for condition_ in conditions_:
            if condition_():
                true += 1
            else:
                false += 1
            if true >= count or total - false < count:
                break
        return true >= count

    def shown(value: Any, kind: str | None) -> str:
        return value if type(value) is str else format_value(value, kind)

    def give_up() -> Any:
        raise CannotDecide

    return {
        "READ": read,
        "FD": field,
        "ID": item_decision,
        "PA": parameter,
        "PV": param,
        "CONDITION": condition,
        "WORKED_OUT": worked_out,
        "RULE": functools.partial(_new, t.RuleConsidered),
        "MADE": made,
        "ITEM": item,
        "MEMBER": member,
        "AT_LEAST": at_least,
        "REASONS": lambda pairs: tuple(name for name, held in pairs if held),
        "SHOWN": shown,
        "GIVE_UP": give_up,
        "DECIDED": "decided",
        "OVERRIDDEN": "overridden",
        "NOT_APPLYING": "does_not_apply",
    }
