"""The traced fast path: the explanation recorded by generated code, for services whose facts are all known.

The closures of ``compiler`` and the ``TracingEnv`` of ``evaluator`` work out
any decision, with missing facts, atoms and the search for needed facts; all
that generality costs time on every value read. When every fact a decision
reads is known, none of it is needed: logic is two-valued, and every rule
that applies is the one that decides. This module writes, once per policy,
Python that evaluates the policy as lazily as the ``TracingEnv`` does and
records the same events in the same order: each defined value worked out
when first read, each decision made when first needed, each rule with its
condition, the values it read and the part that failed.

What it records must be exactly what the full path records, so the rules it
follows are the full path's, stated once here:

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

As in ``fastpath``, the source holds numbered names and indexes into a table
of constants only: no text of a rule file becomes source. What only the full
path handles (a missing fact or field, a conflict, a division by zero, a
parameter with no value on the date) makes the generated code raise
``CannotDecide``, and only that; the full path then works the decision out,
or reports the error with its location. Any other exception is a bug in the
generated code, and propagates.
``tests/test_tracedpath.py`` checks that both paths give identical decisions,
trace included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from policy_rules import nodes as n
from policy_rules import trace as t
from policy_rules.compiler import CompiledPolicy
from policy_rules.evaluator import _citations, _source_text, _truth
from policy_rules.fastpath import _PY_COMPARE, CannotDecide, _parameter_lookup, _Writer, divide, over
from policy_rules.values import format_value, json_value

_NONE = object()

#: Equal events are shared between decisions (they are immutable); each table of
#: them is emptied when it grows this large.
CACHE_LIMIT = 50_000


class _Unsupported(Exception):
    """A policy construct the generator does not write code for: the full path traces it."""


class _TracedWriter(_Writer):
    def __init__(self, compiled: CompiledPolicy) -> None:
        super().__init__(compiled.model, compiled.parameters)
        self.compiled = compiled
        self.fact_index = {name: i for i, name in enumerate(compiled.model.facts)}
        self.functions: dict[str, str] = {}
        self.memo_names: list[tuple[str, str, str]] = []  # (function, memo variable, read variable)
        self.bodies: list[list[str]] = []

    def static(self, value: Any) -> str:
        """A constant of any kind, kept in the table without looking for an equal one."""
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def text(self, node: Any) -> str:
        return self.const(_source_text(self.compiled, node))

    # --- expressions -------------------------------------------------------------

    def texpr(self, e: n.Expr, items: dict[str, tuple[str, str, str]], active: bool) -> str:
        """Python for an expression; with ``active``, the values it reads are appended by ``A``."""
        m = self.model
        if isinstance(e, n.Literal):
            return self.const(e.value)
        if isinstance(e, n.Name):
            ref = m.refs[id(e)]
            if ref.kind == "value":
                return self.const(ref.name)
            if ref.kind == "fact":
                key, read = self.const(ref.name), f"F{self.fact_index[ref.name]}"
                # A fact is given exactly when its read is: a missing one is the full path's to handle.
                return f"(A({read}), f[{key}] if {read} is not None else GIVE_UP())[1]" if active else f"(f[{key}] if {read} is not None else GIVE_UP())"
            if ref.kind == "item":
                return items[ref.name][0]
            if ref.kind == "parameter":
                name = self.const(ref.name)
                if active:
                    return f"PA(A, {name}, {self.static(('parameter', ref.name, m.name_types[ref.name].kind, {}))}, as_of)"
                return f"PV({name}, as_of)"
            if ref.kind == "define":
                fn, read = self.define(ref.name)
                return f"({fn}(), A({read}))[0]" if active else f"{fn}()"
            if ref.kind == "decision":
                fn, read = self.decision(ref.name)
                return f"({fn}(), A({read}))[0]" if active else f"{fn}()"
            raise _Unsupported(ref.kind)
        if isinstance(e, n.Field):
            record, index, collection = items[e.item]
            if active:
                return f"FD(A, {record}, {self.const(e.field)}, {collection}, {index})"
            field = self.const(e.field)
            return f"({record}[{field}] if {field} in {record} else GIVE_UP())"
        if isinstance(e, n.Not):
            return f"(not {self.texpr(e.operand, items, active)})"
        if isinstance(e, n.BoolOp):
            return "(" + f" {e.op} ".join(self.texpr(x, items, active) for x in e.operands) + ")"
        if isinstance(e, n.Compare):
            return f"({self.texpr(e.left, items, active)} {_PY_COMPARE[e.op]} {self.texpr(e.right, items, active)})"
        if isinstance(e, n.Member):
            operand = self.texpr(e.operand, items, active)
            options = [self.texpr(x, items, active) for x in e.options]
            if all(isinstance(x, n.Literal) or (isinstance(x, n.Name) and m.refs[id(x)].kind == "value") for x in e.options):
                return f"({operand} {'not in' if e.negated else 'in'} ({', '.join(options)},))"
            # Options that read values are read one by one, up to the first that matches.
            lazy = ", ".join(f"lambda: {o}" for o in options)
            return f"MEMBER({operand}, ({lazy},), {e.negated})"
        if isinstance(e, n.Test):
            if e.test == "known":
                target = e.operand
                container = items[target.item][0] if isinstance(target, n.Field) else "f"
                key = target.field if isinstance(target, n.Field) else getattr(target, "name", "")
                return f"({self.const(key)} {'not in' if e.negated else 'in'} {container})"
            return f"(len({self.texpr(e.operand, items, active)}) {'!=' if e.negated else '=='} 0)"
        if isinstance(e, n.Arith):
            if e.op == "/":
                return f"DIV({self.texpr(e.left, items, active)}, {self.texpr(e.right, items, active)})"
            return f"({self.texpr(e.left, items, active)} {e.op} {self.texpr(e.right, items, active)})"
        if isinstance(e, n.Neg):
            return f"(-{self.texpr(e.operand, items, active)})"
        if isinstance(e, n.CountOf):
            return self.count_of(e, items, active)
        if isinstance(e, n.Over):
            record, index = self.fresh("i"), self.fresh("n")
            collection = self.texpr(e.collection, items, active)
            inner = {**items, e.item: (record, index, self.const(e.collection.name))}
            condition = self.texpr(e.condition, inner, active)
            return over(e.quantifier, condition, f"for {index}, {record} in enumerate({collection})")
        if isinstance(e, n.Length):
            return f"D(len({self.texpr(e.collection, items, active)}))"
        raise _Unsupported(type(e).__name__)

    def count_of(self, e: n.CountOf, items: dict[str, tuple[str, str, str]], active: bool) -> str:
        m = self.model
        conditions = m.defines[e.reasons.name].body.members if e.reasons is not None else e.conditions  # type: ignore[union-attr]
        parts = [self.texpr(c, items, active) for c in conditions]
        if e.quantifier == "any":
            body = "(" + " or ".join(parts) + ")" if parts else "False"
        elif e.quantifier == "all":
            body = "(" + " and ".join(parts) + ")" if parts else "True"
        elif e.quantifier == "none":
            body = "(not (" + " or ".join(parts) + "))" if parts else "True"
        else:
            lazy = ", ".join(f"lambda: {p}" for p in parts)
            body = f"AT_LEAST({int(e.at_least)}, ({lazy}{',' if parts else ''}))"
        if e.reasons is not None and active:
            # Counting a set of reasons works the set out first, as its own value read.
            fn, read = self.define(e.reasons.name)
            return f"({fn}(), A({read}), {body})[2]"
        return body

    # --- defined values and decisions, each a function worked out once --------------

    def define(self, name: str) -> tuple[str, str]:
        if name in self.functions:
            return self.functions[name], "r" + self.functions[name]
        fn = self.fresh("D")
        self.functions[name] = fn
        memo, read = "m" + fn, "r" + fn
        self.memo_names.append((fn, memo, read))
        node = self.model.defines[name]
        lines = [f"def {fn}():", f"    nonlocal {memo}, {read}", f"    if {memo} is NONE:", "        w = []", "        A = w.append"]
        if isinstance(node.body, n.ReasonsSet):
            pairs = ", ".join(f"({self.const(mem.name)}, {self.texpr(mem, {}, True)})" for mem in node.body.members)
            lines.append(f"        v = REASONS(({pairs}{',' if node.body.members else ''}))")
        else:
            lines.append(f"        v = {self.texpr(node.body, {}, True)}")
        kind = self.compiled.model.name_types.get(name)
        info = self.static(
            (
                name,
                kind.kind if kind else None,
                node.span.short,
                _citations(self.compiled, node.citations),
                node.because,
                _source_text(self.compiled, node.body),
                _may_read_twice(self.model, node.body),
            )
        )
        lines.append(f"        {memo} = v")
        lines.append(f"        W.append(WORKED_OUT({info}, v, w))")
        lines.append(f"        {read} = READ({self.static(('defined', name, kind.kind if kind else None, {}))}, v)")
        lines.append(f"    return {memo}")
        self.bodies.append(lines)
        return fn, read

    def decision(self, name: str) -> tuple[str, str]:
        if name in self.functions:
            return self.functions[name], "r" + self.functions[name]
        decision = self.model.decisions[name]
        if decision.for_each is not None:
            raise _Unsupported("a decision for each item read by another rule")
        fn = self.fresh("C")
        self.functions[name] = fn
        memo, read = "m" + fn, "r" + fn
        self.memo_names.append((fn, memo, read))
        saved, self.lines = self.lines, []
        self.emit(f"nonlocal {memo}, {read}", 1)
        self.emit(f"if {memo} is NONE:", 1)
        applies, value, event, decider = self.rule(self.model.default_rule[name], {}, 2)
        self.emit(f"if not {applies}: raise GiveUp", 2)
        self.emit(f"M.append(MADE({self.const(name)}, None, {value}, {decider}, {event}))", 2)
        self.emit(f"{memo} = {value}", 2)
        self.emit(f"{read} = READ({self.static(('decision', name, 'one of', {}))}, {value})", 2)
        self.emit(f"return {memo}", 1)
        body, self.lines = self.lines, saved
        self.bodies.append([f"def {fn}():", *body])
        return fn, read

    def per_item(self, name: str) -> str:
        decision = self.model.decisions[name]
        assert decision.for_each is not None
        fn = self.fresh("E")
        record, index = self.fresh("i"), self.fresh("n")
        collection = self.const(decision.for_each.collection.name)
        saved, self.lines = self.lines, []
        applies, value, event, decider = self.rule(self.model.default_rule[name], {decision.for_each.item: (record, index, collection)}, 1)
        self.emit(f"if not {applies}: raise GiveUp", 1)
        self.emit(f"M.append(MADE({self.const(name)}, ITEM({collection}, {index}, {record}), {value}, {decider}, {event}))", 1)
        self.emit(f"return {value}", 1)
        body, self.lines = self.lines, saved
        self.bodies.append([f"def {fn}({index}, {record}):", *body])
        return fn

    # --- rules ------------------------------------------------------------------------

    def condition(self, node: Any, items: dict[str, tuple[str, str, str]], depth: int) -> tuple[str, str]:
        """Statements that leave whether the condition holds in ``h`` and its event in ``c``."""
        if node is None:
            return "True", "None"
        holds, event = self.fresh("h"), self.fresh("c")
        self.emit("w = []", depth)
        self.emit("A = w.append", depth)
        text = _source_text(self.compiled, node)
        if isinstance(node, n.BoolOp) and node.op == "and":
            parts = tuple((_source_text(self.compiled, operand),) for operand in node.operands)
            failed = self.fresh("x")
            self.emit(f"{failed} = -1", depth)
            inner = depth
            for index, operand in enumerate(node.operands):
                self.emit(f"{holds} = {self.texpr(operand, items, True)}", inner)
                self.emit(f"if {holds} is False:", inner)
                self.emit(f"{failed} = {index}", inner + 1)
                self.emit("else:", inner)
                inner += 1
            self.emit(f"{holds} = True", inner)
        else:
            parts = ((text,),)
            self.emit(f"{holds} = {self.texpr(node, items, True)}", depth)
            failed = f"(0 if {holds} is False else -1)"
        info = self.static((text, parts, _may_read_twice(self.model, node)))
        self.emit(f"{event} = CONDITION({info}, {holds}, w, {failed})", depth)
        return holds, event

    def rule(self, label: str, items: dict[str, tuple[str, str, str]], depth: int) -> tuple[str, str, str, str]:
        """Statements for one rule and its exceptions: whether it applies, its value, its event, the rule that decided."""
        m = self.model
        node = m.rules[label]
        children = [self.rule(child, items, depth) for child in m.children.get(label, [])]
        applies, value, event, decider = self.fresh("a"), self.fresh("v"), self.fresh("e"), self.fresh("b")
        info = self.static(
            (
                label,
                node.decision.name,
                "default" if node.is_default else "exception",
                node.span.short,
                _citations(self.compiled, node.citations),
                node.because,
            )
        )
        written = self.text(node.conclusion)
        exceptions = "(" + "".join(f"{e}, " for _a, _v, e, _b in children) + ")"
        own_depth = depth
        if children:
            count = self.fresh("k")
            self.emit(f"{count} = {' + '.join(a for a, _v, _e, _b in children)}", depth)
            self.emit(f"if {count} > 1: raise GiveUp", depth)
            self.emit(f"if {count}:", depth)
            by = self.fresh("o")
            for i, (a, v, _e, b) in enumerate(children):
                self.emit(f"{'if' if i == 0 else 'elif'} {a}:", depth + 1)
                self.emit(f"{value}, {decider}, {by} = {v}, {b}, {self.const(m.children[label][i])}", depth + 2)
            holds, condition = self.condition(node.condition, items, depth + 1)
            status = "OVERRIDDEN" if node.condition is None else f"(OVERRIDDEN if {holds} is True else NOT_APPLYING if {holds} is False else GIVE_UP())"
            self.emit(f"{event} = RULE({info}, {status}, {written}, {condition}, {exceptions}, {by})", depth + 1)
            self.emit(f"{applies} = True", depth + 1)
            self.emit("else:", depth)
            own_depth = depth + 1
        holds, condition = self.condition(node.condition, items, own_depth)
        if node.condition is None:
            self.emit(f"{value} = {self.texpr(node.conclusion, items, False)}", own_depth)
            self.emit(f"{event} = RULE({info}, DECIDED, SHOWN({value}), None, {exceptions}, None)", own_depth)
            self.emit(f"{applies}, {decider} = True, {self.const(label)}", own_depth)
            return applies, value, event, decider
        self.emit(f"if {holds} is True:", own_depth)
        self.emit(f"{value} = {self.texpr(node.conclusion, items, False)}", own_depth + 1)
        self.emit(f"{event} = RULE({info}, DECIDED, SHOWN({value}), {condition}, {exceptions}, None)", own_depth + 1)
        self.emit(f"{applies}, {decider} = True, {self.const(label)}", own_depth + 1)
        self.emit(f"elif {holds} is False:", own_depth)
        self.emit(f"{event} = RULE({info}, NOT_APPLYING, {written}, {condition}, {exceptions}, None)", own_depth + 1)
        self.emit(f"{applies}, {value}, {decider} = False, NONE, None", own_depth + 1)
        self.emit("else: raise GiveUp", own_depth)
        return applies, value, event, decider


class TracedPath:
    """``traced(facts, as_of)`` gives the decision's values and its events, or ``None`` to take the full path.

    The result is ``(outcome, priority, element outcomes, reasons, fact
    reads, values worked out, decisions made)``.
    """

    def __init__(self, compiled: CompiledPolicy) -> None:
        model = compiled.model
        self.source = ""
        self._traced: Any = None
        if not model.outcome:
            return
        w = _TracedWriter(compiled)
        try:
            outcome, _ = w.decision(model.outcome)
            priority = w.decision(model.priority)[0] + "()" if model.priority else "None"
            elements = "()"
            if model.element_outcomes:
                per_item = model.decisions[model.element_outcomes]
                assert per_item.for_each is not None
                fn = w.per_item(model.element_outcomes)
                elements = f"tuple({fn}(i, r) for i, r in enumerate(f.get({w.const(per_item.for_each.collection.name)}, ())))"
            reasons = f"tuple({w.define(model.reasons)[0]}())" if model.reasons else "()"
        except _Unsupported:
            return
        lines = ["def traced(f, as_of):", "    g = f.get"]
        # The read of each fact given: shared with earlier decisions when the value is the same.
        for index, name in enumerate(model.facts):
            kind = model.fact_types[name].kind
            info = ("fact", name, kind, {})
            lines.append(f"    v = g({w.const(name)}, NONE)")
            if kind == "list":
                lines.append(f"    F{index} = None if v is NONE else READ({w.static(info)}, v)")
            else:
                lines.append(f"    F{index} = None if v is NONE else ({w.static(info[3])}.get(v) or READ({w.static(info)}, v))")
        lines += [f"    FR = ({''.join(f'F{i}, ' for i in range(len(model.facts)))})", "    W = []", "    M = []"]
        for _fn, memo, read in w.memo_names:
            lines.append(f"    {memo} = NONE")
            lines.append(f"    {read} = None")
        for body in w.bodies:
            lines.extend("    " + line for line in body)
        lines.append(f"    o = {outcome}()")
        lines.append(f"    p = {priority}")
        lines.append(f"    l = {elements}")
        lines.append(f"    s = {reasons}")
        lines.append("    return o, p, l, s, FR, W, M")
        self.source = "\n".join(lines) + "\n"
        self.constants = tuple(w.constants)
        namespace: dict[str, Any] = {
            "__builtins__": {"any": any, "all": all, "len": len, "sum": sum, "tuple": tuple, "enumerate": enumerate},
            "K": self.constants,
            "NONE": _NONE,
            "D": Decimal,
            "GiveUp": CannotDecide,
            "DIV": divide,
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


def _may_read_twice(model: Any, node: Any) -> bool:
    """Whether evaluating ``node`` may read one name twice; only then do its reads need thinning to the first of each."""
    names: list[tuple[str, str]] = []
    twice = False

    def visit(e: Any) -> None:
        nonlocal twice
        if isinstance(e, n.Name):
            ref = model.refs.get(id(e))
            if ref is not None and ref.kind in ("fact", "define", "decision", "parameter"):
                names.append(("", ref.name))
        elif isinstance(e, n.Field):
            names.append((e.item, e.field))
        elif isinstance(e, n.Over):
            twice = True  # a field is read once for each item, and quantifiers may nest
        elif isinstance(e, n.CountOf) and e.reasons is not None:
            twice = True  # the set of reasons, then each of its members
        for child in _children(e):
            visit(child)

    visit(node)
    return twice or len(names) != len(set(names))


def _children(e: Any) -> tuple[Any, ...]:
    if isinstance(e, (n.Not, n.Neg, n.Test)):
        return (e.operand,)
    if isinstance(e, n.BoolOp):
        return e.operands
    if isinstance(e, (n.Compare, n.Arith)):
        return (e.left, e.right)
    if isinstance(e, n.Member):
        return (e.operand, *e.options)
    if isinstance(e, n.CountOf):
        return e.conditions
    if isinstance(e, n.Over):
        return (e.collection, e.condition)
    if isinstance(e, n.Length):
        return (e.collection,)
    if isinstance(e, n.ReasonsSet):
        return e.members
    return ()


def _store(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Keep ``value`` under ``key``, emptying the table first when it is full; gives ``value``."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _runtime(compiled: CompiledPolicy) -> dict[str, Any]:
    """The helpers the generated code calls: reads and events, shared where they are equal.

    Events are immutable, so equal events are one object: a cache keyed by
    the identities of the events and reads an event holds. A cached event
    keeps those alive, so no identity in a key can be reused while its entry
    exists. Caches are emptied when they grow large; that only loses sharing.
    """
    param = _parameter_lookup(compiled.parameters)
    conditions: dict[tuple[Any, ...], t.Condition] = {}
    rules: dict[tuple[Any, ...], t.RuleConsidered] = {}
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
        key = (id(info), type(holds), holds, failed, *map(id, reads_))
        found = conditions.get(key)
        if found is None:
            found = _store(conditions, key, t.Condition(info[0], _truth(holds), tuple(reads_), info[1][failed] if failed >= 0 else (), ()))
        return found

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

    def rule(
        info: tuple[Any, ...], status: str, conclusion: str, condition_: t.Condition | None, exceptions: tuple[t.RuleConsidered, ...], by: str | None
    ) -> t.RuleConsidered:
        key = (id(info), status, conclusion, id(condition_), by, *map(id, exceptions))
        found = rules.get(key)
        if found is None:
            label, decision, kind, location, citations, because = info
            found = _store(rules, key, t.RuleConsidered(label, decision, kind, location, citations, because, status, conclusion, condition_, exceptions, by))
        return found

    def made(decision: str, item: str | None, value: Any, decided_by: str | None, event: t.RuleConsidered) -> t.DecisionMade:
        return t.DecisionMade(decision, item, str(value), decided_by, event)

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

    def shown(value: Any) -> str:
        return value if type(value) is str else format_value(value)

    def give_up() -> Any:
        raise CannotDecide

    return {
        "READ": read,
        "FD": field,
        "PA": parameter,
        "PV": param,
        "CONDITION": condition,
        "WORKED_OUT": worked_out,
        "RULE": rule,
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
