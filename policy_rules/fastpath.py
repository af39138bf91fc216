"""The fast path: a checked policy as one Python function, for services whose facts are all known.

When every fact a decision reads is known, three-valued logic, the search for
needed facts and the trace are all unnecessary: the decision is plain Python
logic. This module writes that logic as the source of one function and
compiles it once per policy.

The generated source is built from the AST's *structure* only. Every name a
rule file declares and every constant it writes is kept in a table ``K`` and
referred to by its index (``f[K[3]]``); local variables are numbered
(``v4``, ``r7``). No text from a rule file is ever spliced into the source,
so a rule file cannot inject code, whatever its names or strings say. The
function runs with a namespace holding only what it needs: its helpers and a
few builtins (``any``, ``all``, ``len``, ``sum``, ``tuple``, ``bool``,
``type``, ``map`` and the types it checks values against).

There are two such functions. ``FastPath`` takes facts already validated and
typed (``Policy.decide``); ``FastRawPath`` takes the facts as given, checks
them as it reads them and builds the ``Decision`` itself (``evaluate`` and
``evaluate_many`` with the trace off). ``FastTextFacts`` reads the cells of a
CSV register into the values ``FastRawPath`` takes.

Each function evaluates eagerly, in dependency order, only the values the
reported decisions need. It gives up (returns ``None``) whenever anything is
missing or goes wrong (a fact not given, a division by zero, a conflict
between exceptions, a parameter with no value on the date): the caller then
takes the full path, which works out the same decision with its explanation,
or reports the error with its location.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from policy_rules import nodes as n
from policy_rules.checker import PolicyModel, dependencies
from policy_rules.facts import service_name

_PY_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Conflict(Exception):
    pass


_NONE = object()

#: Kinds of fact whose values, as given, are of exactly one Python type.
_EXACT_TYPES: dict[str, type] = {"yes/no": bool, "money": int, "number": int, "whole number": int}
_MISSING_WORDS = frozenset({"", "unknown", "n/a", "?"})
#: Dates as the full validation reads them (``date.fromisoformat`` alone also takes week dates).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Writer:
    def __init__(self, model: PolicyModel, parameters: Mapping[str, Any]) -> None:
        self.model = model
        self.parameters = parameters
        self.constants: list[Any] = []
        self.constant_index: dict[tuple[type, Any], int] = {}
        self.lines: list[str] = []
        self.counter = 0
        self.locals: dict[str, str] = {}
        self.params_used: dict[str, str] = {}

    def const(self, value: Any) -> str:
        key = (type(value), value)
        index = self.constant_index.get(key)
        if index is None:
            index = len(self.constants)
            self.constants.append(value)
            self.constant_index[key] = index
        return f"K[{index}]"

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    # --- expressions ------------------------------------------------------------------

    def fact(self, name: str) -> str:
        return f"f[{self.const(name)}]"

    def known(self, name: str, negated: bool) -> str:
        return f"({self.const(name)} {'not in' if negated else 'in'} f)"

    def number(self, code: str) -> str:
        """A number about to take part in arithmetic (already a ``Decimal`` here)."""
        return code

    def expr(self, e: n.Expr, items: dict[str, str]) -> str:
        m = self.model
        if isinstance(e, n.Literal):
            return self.const(e.value)
        if isinstance(e, n.Name):
            ref = m.refs[id(e)]
            if ref.kind == "value":
                return self.const(ref.name)
            if ref.kind == "fact":
                return self.fact(ref.name)
            if ref.kind == "item":
                return items[ref.name]
            if ref.kind == "parameter":
                if ref.name not in self.params_used:
                    self.params_used[ref.name] = self.fresh("p")
                return self.params_used[ref.name]
            return self.locals[ref.name]
        if isinstance(e, n.Field):
            return f"{items[e.item]}[{self.const(e.field)}]"
        if isinstance(e, n.Not):
            return f"(not {self.expr(e.operand, items)})"
        if isinstance(e, n.BoolOp):
            return "(" + f" {e.op} ".join(self.expr(x, items) for x in e.operands) + ")"
        if isinstance(e, n.Compare):
            return f"({self.expr(e.left, items)} {_PY_COMPARE[e.op]} {self.expr(e.right, items)})"
        if isinstance(e, n.Member):
            if all(isinstance(x, n.Literal) or (isinstance(x, n.Name) and m.refs[id(x)].kind == "value") for x in e.options):
                values = frozenset(x.value if isinstance(x, n.Literal) else m.refs[id(x)].name for x in e.options)
                return f"({self.expr(e.operand, items)} {'not in' if e.negated else 'in'} {self.const(values)})"
            options = ", ".join(self.expr(x, items) for x in e.options)
            return f"({self.expr(e.operand, items)} {'not in' if e.negated else 'in'} ({options},))"
        if isinstance(e, n.Test):
            if e.test == "known":
                target = e.operand
                if isinstance(target, n.Field):
                    return f"({self.const(target.field)} {'not in' if e.negated else 'in'} {items[target.item]})"
                return self.known(getattr(target, "name", ""), e.negated)
            return f"(len({self.expr(e.operand, items)}) {'!=' if e.negated else '=='} 0)"
        if isinstance(e, n.Arith):
            return f"({self.number(self.expr(e.left, items))} {e.op} {self.expr(e.right, items)})"
        if isinstance(e, n.Neg):
            return f"(-{self.number(self.expr(e.operand, items))})"
        if isinstance(e, n.CountOf):
            conditions = m.defines[e.reasons.name].body.members if e.reasons is not None else e.conditions  # type: ignore[union-attr]
            parts = [self.expr(c, items) for c in conditions]
            if e.quantifier == "any":
                return "(" + " or ".join(parts) + ")" if parts else "False"
            if e.quantifier == "all":
                return "(" + " and ".join(parts) + ")" if parts else "True"
            if e.quantifier == "none":
                return "(not (" + " or ".join(parts) + "))" if parts else "True"
            if int(e.at_least) == 1 and parts:
                return "(" + " or ".join(parts) + ")"
            return "((" + " + ".join(f"bool({p})" for p in parts) + f") >= {int(e.at_least)})" if parts else f"(0 >= {int(e.at_least)})"
        if isinstance(e, n.Over):
            if isinstance(e.condition, n.Field) and e.condition.item == e.item and e.quantifier != "count":
                # A yes/no field of each item: read by ``itemgetter`` in C, without a generator.
                fields = f"map({self.const(operator.itemgetter(e.condition.field))}, {self.expr(e.collection, items)})"
                return {"any": f"any({fields})", "every": f"all({fields})", "no": f"(not any({fields}))"}[e.quantifier]
            var = self.fresh("i")
            inner = {**items, e.item: var}
            collection = self.expr(e.collection, items)
            return over(e.quantifier, self.expr(e.condition, inner), f"for {var} in {collection}")
        if isinstance(e, n.Length):
            return f"D(len({self.expr(e.collection, items)}))"
        raise AssertionError(type(e).__name__)

    # --- decisions -----------------------------------------------------------------------

    def chain(self, label: str, items: dict[str, str]) -> list[tuple[str | None, str, str]] | None:
        """A rule whose exceptions form a chain (one exception each), as (condition, value, label), the strongest first.

        Without siblings no two exceptions can apply at once, so the first
        that applies, tried from the innermost out, is the decision.
        """
        m = self.model
        node = m.rules[label]
        own = (self.expr(node.condition, items) if node.condition is not None else None, self.expr(node.conclusion, items), self.const(label))
        children = m.children.get(label, [])
        if not children:
            return [own]
        if len(children) == 1:
            inner = self.chain(children[0], items)
            if inner is not None:
                return [*inner, own]
        return None

    def rule(self, label: str, items: dict[str, str], depth: int) -> tuple[str, str]:
        """Statements that leave the rule's value in ``r`` (``NONE`` if it does not apply) and its decider in ``b``."""
        m = self.model
        node = m.rules[label]
        alternatives = self.chain(label, items)
        if alternatives is not None:
            value, decider = self.fresh("r"), self.fresh("b")
            for index, (condition, conclusion, rule_label) in enumerate(alternatives):
                if condition is None:
                    if index:
                        self.emit("else:", depth)
                    self.emit(f"{value}, {decider} = {conclusion}, {rule_label}", depth + (1 if index else 0))
                    return value, decider
                self.emit(f"{'elif' if index else 'if'} {condition}:", depth)
                self.emit(f"{value}, {decider} = {conclusion}, {rule_label}", depth + 1)
            self.emit("else:", depth)
            self.emit(f"{value}, {decider} = NONE, None", depth + 1)
            return value, decider
        children = [self.rule(child, items, depth) for child in m.children.get(label, [])]
        value, decider = self.fresh("r"), self.fresh("b")
        own = [f"{value} = {self.expr(node.conclusion, items)}", f"{decider} = {self.const(label)}"]
        if len(children) > 1:
            hits = self.fresh("h")
            pairs = ", ".join(f"({r}, {b})" for r, b in children)
            self.emit(f"{hits} = [x for x in ({pairs}) if x[0] is not NONE]", depth)
            self.emit(f"if len({hits}) > 1: raise Conflict", depth)
            self.emit(f"if {hits}:", depth)
            self.emit(f"{value}, {decider} = {hits}[0]", depth + 1)
            opener = "elif"
        elif children:
            r, b = children[0]
            self.emit(f"if {r} is not NONE:", depth)
            self.emit(f"{value}, {decider} = {r}, {b}", depth + 1)
            opener = "elif"
        else:
            opener = "if"
        if node.condition is None:
            if opener == "if":
                for line in own:
                    self.emit(line, depth)
                return value, decider
            self.emit("else:", depth)
        else:
            self.emit(f"{opener} {self.expr(node.condition, items)}:", depth)
        for line in own:
            self.emit(line, depth + 1)
        if node.condition is not None:
            self.emit("else:", depth)
            self.emit(f"{value}, {decider} = NONE, None", depth + 1)
        return value, decider


def over(quantifier: str, condition: str, loop: str) -> str:
    """A quantifier over the items of a list, given the condition on one item and the ``for`` clause."""
    if quantifier == "any":
        return f"any({condition} {loop})"
    if quantifier == "every":
        return f"all({condition} {loop})"
    if quantifier == "no":
        return f"(not any({condition} {loop}))"
    return f"D(sum(1 {loop} if {condition}))"


def _needed(model: PolicyModel) -> list[str]:
    """The defined values and decisions the reported results need, in dependency order."""
    deps = dependencies(model)
    wanted = [x for x in (model.outcome, model.priority, model.element_outcomes, model.reasons) if x]
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in deps.get(name, []):
            visit(dep)
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def _write_decisions(w: _Writer, model: PolicyModel) -> tuple[str, str, str, str, str]:
    """The body that works out every reported value; gives the expressions for outcome, rule, priority, elements, reasons."""
    body_start = len(w.lines)
    element_values = "()"
    for name in _needed(model):
        if name in model.defines:
            body = model.defines[name].body
            var = w.fresh("v")
            if isinstance(body, n.ReasonsSet):
                held = ", ".join(w.expr(mem, {}) for mem in body.members)
                w.emit(f"{var} = tuple(COMPRESS({w.const(tuple(mem.name for mem in body.members))}, ({held},)))")
            else:
                w.emit(f"{var} = {w.expr(body, {})}")
            w.locals[name] = var
            continue
        decision = model.decisions[name]
        root = model.default_rule[name]
        if decision.for_each is None:
            value, decider = w.rule(root, {}, 1)
            w.locals[name] = value
            w.locals["@" + name] = decider
        elif name == model.element_outcomes:
            item = w.fresh("e")
            results = w.fresh("l")
            w.emit(f"{results} = []")
            w.emit(f"for {item} in {w.fact(decision.for_each.collection.name)}:")
            value, _decider = w.rule(root, {decision.for_each.item: item}, 2)
            w.emit(f"{results}.append({value})", 2)
            element_values = f"tuple({results})"
    params = [f"    {var} = param({w.const(name)}, as_of)" for name, var in w.params_used.items()]
    w.lines[body_start:body_start] = params
    outcome = w.locals.get(model.outcome or "", "None")
    decider = w.locals.get("@" + (model.outcome or ""), "None")
    priority = w.locals.get(model.priority or "", "None")
    reasons = w.locals.get(model.reasons or "", "()")
    return outcome, decider, priority, element_values, reasons


def _namespace(constants: tuple[Any, ...], parameters: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "__builtins__": {
            "any": any, "all": all, "len": len, "sum": sum, "tuple": tuple, "bool": bool, "type": type, "map": map,
            "int": int, "str": str, "list": list, "dict": dict,
        },
        "K": constants,
        "NONE": _NONE,
        "Conflict": _Conflict,
        "D": Decimal,
        "param": _parameter_lookup(parameters),
        "COMPRESS": itertools.compress,
        **extra,
    }


class FastPath:
    """``fast(facts, as_of)`` gives (outcome, decided_by, priority, element outcomes, reasons) or None.

    ``facts`` are typed (``Policy.facts_of``).
    """

    def __init__(self, model: PolicyModel, parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]]) -> None:
        w = _Writer(model, parameters)
        w.emit(f"return ({', '.join(_write_decisions(w, model))})")
        self.source = "def decide(f, as_of):\n" + "\n".join(w.lines) + "\n"
        self.constants = tuple(w.constants)
        namespace = _namespace(self.constants, parameters)
        # The source holds numbered names and constant-table indexes only (see the module docstring).
        exec(compile(self.source, "<policy_rules fast path>", "exec"), namespace)
        self._decide = namespace["decide"]

    def __call__(self, facts: Mapping[str, Any], as_of: date) -> tuple[Any, ...] | None:
        try:
            result = self._decide(facts, as_of)
        except Exception:  # anything at all: the full path decides, or reports the error properly
            return None
        if result[0] is _NONE or result[2] is _NONE or _NONE in result[3]:
            return None
        return result


class _RawWriter(_Writer):
    """Writes the fast path over facts as given: each fact read once into a local, constants in cells."""

    def __init__(self, model: PolicyModel, parameters: Mapping[str, Any]) -> None:
        super().__init__(model, parameters)
        self.fact_vars: dict[str, str] = {}

    def const(self, value: Any) -> str:
        return "c" + super().const(value)[2:-1]

    def fact(self, name: str) -> str:
        if name not in self.fact_vars:
            self.fact_vars[name] = f"x{len(self.fact_vars)}"
        return self.fact_vars[name]

    def known(self, name: str, negated: bool) -> str:
        if self.model.facts[name].default is not None:
            return "False" if negated else "True"
        return f"({self.const(name)} {'not in' if negated else 'in'} f)"

    def number(self, code: str) -> str:
        # Facts as given are ``int``; arithmetic is done in ``Decimal``, as the full path does it.
        return f"D({code})"


class FastRawPath:
    """The fast path over facts as given, validating them as it reads them, giving the ``Decision``.

    ``fast(raw, as_of, shown_as_of, index)`` gives the decision, or None. It
    reads facts that are already of their Python type (``True``, an ``int``
    amount, a list of mappings, a date or ISO date text) straight from the
    mapping, without building typed facts: that is the case of facts from
    JSON, YAML or Python code. Anything else (text such as ``"£1,200"``, an
    undeclared name, a missing fact it needs) gives ``None``, and the caller
    validates the facts in full. Amounts stay ``int``: comparing ``int`` with
    ``Decimal`` is exact, and arithmetic converts to ``Decimal`` first, so
    every result is the full path's.
    """

    def __init__(
        self,
        model: PolicyModel,
        parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]],
        info: Any,
        element_outcomes: Any,
    ) -> None:
        from policy_rules.decision import Decision

        self.source = ""
        self.decide: Any = lambda *_: None
        if not model.outcome:
            return
        w = _RawWriter(model, parameters)
        outcome, decider, priority, elements, reasons = _write_decisions(w, model)
        items = w.fact(model.decisions[model.element_outcomes].for_each.collection.name) if model.element_outcomes else "()"  # type: ignore[union-attr]
        settled = [value for value in (outcome, priority) if value != "None"]
        if settled:
            w.emit(f"if {' or '.join(f'{v} is NONE' for v in settled)}: return None")
        if elements != "()":
            values = elements[len("tuple(") : -1]
            w.emit(f"if {values}:")
            w.emit(f"if NONE in {values}: return None", 2)
            w.emit(f"{values} = ELEMENTS({items}, tuple({values}))", 2)
            w.emit("else:")
            w.emit(f"{values} = ()", 2)
            elements = values
        w.emit(f"return NEW(DECISION, (name, {outcome}, {priority}, {reasons}, {elements}, (), (), True, (), INFO, shown, {decider}))")
        body = w.lines
        w.lines = []

        read = [name for name in model.facts if name in w.fact_vars]
        plain = [name for name in read if model.facts[name].default is None]
        # Yes/no facts and amounts are checked all at once: one tuple of their types.
        typed = [name for name in plain if model.fact_types[name].kind in _EXACT_TYPES]
        others = [name for name in plain if name not in typed]
        if plain:
            w.emit("try:")
            if len(typed) > 1:
                w.emit(f"t = {w.const(operator.itemgetter(*typed))}(f)", 2)
            elif typed:
                w.emit(f"t = (f[{w.const(typed[0])}],)", 2)
            for name in others:
                w.emit(f"{w.fact_vars[name]} = f[{w.const(name)}]", 2)
            w.emit("except KeyError:")
            w.emit("return None", 2)
        if typed:
            expected = tuple(_EXACT_TYPES[model.fact_types[name].kind] for name in typed)
            w.emit(f"if tuple(map(type, t)) != {w.const(expected)}: return None")
            w.emit(f"{', '.join(w.fact_vars[name] for name in typed)}, = t")
        # Every fact given is either read above or counted below: a mapping with more
        # keys than that holds a name the policy does not declare.
        w.emit(f"given = {len(plain)}")
        low, high = w.const(-(10**60)), w.const(10**60)
        for name in read:
            t = model.fact_types[name]
            var = w.fact_vars[name]
            decl = model.facts[name]
            depth = 1
            if decl.default is not None:
                default = decl.default.value if decl.default.kind != "list" else ()
                w.emit(f"{var} = f.get({w.const(name)}, NONE)")
                w.emit(f"if {var} is NONE: {var} = {w.const(default)}")
                w.emit("else:")
                w.emit("given += 1", 2)
                depth = 2
                if t.kind in _EXACT_TYPES:
                    w.emit(f"if type({var}) is not {_EXACT_TYPES[t.kind].__name__}: return None", depth)
            if t.kind in ("money", "number", "whole number"):
                w.emit(f"if not {low} < {var} < {high}: return None", depth)
            elif t.kind not in _EXACT_TYPES:
                self._check(w, var, t, depth, replace=True)
        # A text fact names the service as given; any other kind of name, and a
        # missing one, is worked out as the full validation works it out.
        texts = model.service_name is not None and model.fact_types[model.service_name].kind == "text"
        named = False
        for name in model.facts:
            if name in w.fact_vars:
                continue
            var = "name" if name == model.service_name and texts else "v"
            named = named or var == "name"
            w.emit(f"{var} = f.get({w.const(name)}, NONE)")
            w.emit(f"if {var} is not NONE:")
            w.emit("given += 1", 2)
            self._check(w, var, model.fact_types[name], 2, replace=False)
        w.emit("if len(f) != given: return None")
        if texts and not named:
            service = w.fact(model.service_name or "")
            w.emit(f"name = {service} if type({service}) is str else NONE")
        elif not texts:
            w.emit("name = NONE")
        w.emit(f"if name is NONE: name = {w.const(functools.partial(service_name, model))}(f, index)")
        prologue = w.lines
        constants = tuple(w.constants)
        lines = ["def make(K):"]
        if constants:
            lines.append(f"    {', '.join(f'c{i}' for i in range(len(constants)))}, = K")
        lines.append("    def decide(f, as_of, shown, index):")
        lines.extend("    " + line for line in (*prologue, *body))
        lines.append("    return decide")
        self.source = "\n".join(lines) + "\n"
        self.constants = constants
        namespace = _namespace(constants, parameters, NEW=tuple.__new__, DECISION=Decision, INFO=info, ELEMENTS=element_outcomes)
        # As for ``FastPath``: numbered names and indexes only; constants reach the code as cells.
        exec(compile(self.source, "<policy_rules fast path over facts as given>", "exec"), namespace)
        #: The generated function itself; it may raise, for anything the full path should report.
        self.decide = namespace["make"](constants)

    @staticmethod
    def _check(w: _RawWriter, var: str, t: Any, depth: int, *, replace: bool) -> None:
        """Statements that give up unless ``var`` is a clean value of type ``t`` (converting it, with ``replace``)."""
        from policy_rules.checker import type_from_ref

        if t.kind in _EXACT_TYPES:
            w.emit(f"if type({var}) is not {_EXACT_TYPES[t.kind].__name__}: return None", depth)
            if t.kind != "yes/no":
                w.emit(f"if not {w.const(-(10**60))} < {var} < {w.const(10**60)}: return None", depth)
        elif t.kind == "text":
            w.emit(f"if type({var}) is not str or {var}.strip().lower() in {w.const(_MISSING_WORDS)}: return None", depth)
        elif t.kind == "one of":
            w.emit(f"if type({var}) is not str or {var} not in {w.const(frozenset(t.values))}: return None", depth)
        elif t.kind == "list" and not any(type_from_ref(f.type).kind not in (*_EXACT_TYPES, "text", "one of") for f in w.model.records[t.record or ""].fields):
            # A list whose items need no converting is checked in place and read as given.
            fields = {f.name: type_from_ref(f.type) for f in w.model.records[t.record or ""].fields}
            item = w.fresh("i")
            w.emit(f"if type({var}) is not list or len({var}) > 10000: return None", depth)
            w.emit(f"for {item} in {var}:", depth)
            w.emit(f"if type({item}) is not dict or not {w.const(frozenset(fields))}.issuperset({item}): return None", depth + 1)
            for field, ft in fields.items():
                value = w.fresh("u")
                w.emit(f"{value} = {item}.get({w.const(field)}, NONE)", depth + 1)
                w.emit(f"if {value} is not NONE:", depth + 1)
                FastRawPath._check(w, value, ft, depth + 2, replace=False)
        else:
            reader = w.const(_raw_list_reader_for(w.model, t) if t.kind == "list" else _raw_reader(t.kind, t.values))
            if replace:
                w.emit(f"{var} = {reader}({var})", depth)
                w.emit(f"if {var} is NONE: return None", depth)
            else:
                w.emit(f"if {reader}({var}) is NONE: return None", depth)

    def __call__(self, raw: Mapping[str, Any], as_of: date, shown: str, index: int) -> Any:
        try:
            return self.decide(raw, as_of, shown, index)
        except Exception:  # anything at all: the full path decides, or reports the error properly
            return None


def _parameter_lookup(parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]]) -> Any:
    def param(name: str, as_of: date) -> Any:
        for start, until, value in parameters[name]:
            if start <= as_of and (until is None or as_of <= until):
                return value
        raise LookupError(name)

    return param


class FastFacts:
    """Typed facts without the full validation, for values already of their type.

    Facts from JSON, YAML or Python code are usually already ``True``/``False``,
    ``int``, ``str`` or a date. ``__call__`` converts those directly and gives
    ``None`` at the first value that needs more (a string such as
    ``"£1,200,000"``, an undeclared name, a wrong type): the caller then runs
    the full validation, which converts it or reports the error. Like the
    fast path, the reader is one generated function whose source holds only
    numbered names and indexes into a table of the declared names.
    """

    def __init__(self, model: PolicyModel) -> None:
        from policy_rules.checker import type_from_ref

        names = list(model.fact_types)
        lines = ["def read(raw):", "    if not NAMES.issuperset(raw):", "        return None", "    t = {}"]
        readers: list[Any] = []
        for index, name in enumerate(names):
            t = model.fact_types[name]
            key = f"N[{index}]"
            lines.append(f"    v = raw.get({key}, MISSING)")
            lines.append("    if v is not MISSING:")
            if t.kind == "yes/no":
                lines.append(f"        if v is True or v is False: t[{key}] = v")
                lines.append("        else: return None")
            elif t.kind in ("money", "number", "whole number"):
                lines.append(f"        if type(v) is int and -LIMIT < v < LIMIT: t[{key}] = D(v)")
                lines.append("        else: return None")
            else:
                if t.kind == "list":
                    record = model.records[t.record or ""]
                    fields = {f.name: _simple(type_from_ref(f.type).kind, type_from_ref(f.type).values) for f in record.fields}
                    readers.append(_list_reader(fields))
                else:
                    readers.append(_simple(t.kind, t.values))
                lines.append(f"        v = R[{len(readers) - 1}](v)")
                lines.append("        if v is NONE: return None")
                lines.append(f"        t[{key}] = v")
        defaults: dict[int, Any] = {}
        for name, decl in model.facts.items():
            if decl.default is not None:
                index = names.index(name)
                defaults[index] = decl.default.value if decl.default.kind != "list" else ()
                lines.append(f"    if N[{index}] not in t: t[N[{index}]] = DEFAULTS[{index}]")
        lines.append("    return t")
        namespace: dict[str, Any] = {
            "__builtins__": {"type": type, "int": int},
            "LIMIT": 10**60,
            "NAMES": frozenset(names),
            "N": tuple(names),
            "R": tuple(readers),
            "D": Decimal,
            "MISSING": _NONE,
            "NONE": _NONE,
            "DEFAULTS": defaults,
        }
        self.source = "\n".join(lines) + "\n"
        # Names reach the function only through the table N, never as source text.
        exec(compile(self.source, "<policy_rules fast facts>", "exec"), namespace)
        self._read = namespace["read"]

    def __call__(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return self._read(raw)
        except (TypeError, ValueError):
            return None


def _simple(kind: str, values: tuple[str, ...]) -> Any:
    if kind == "yes/no":
        return lambda v: v if v is True or v is False else _NONE
    if kind in ("money", "number"):
        return lambda v: Decimal(v) if type(v) is int else _NONE
    if kind == "whole number":
        return lambda v: Decimal(v) if type(v) is int else _NONE
    if kind == "text":
        return lambda v: v if type(v) is str and v.strip() and v.strip().lower() not in ("unknown", "n/a", "?") else _NONE
    if kind == "one of":
        allowed = frozenset(values)
        return lambda v: v if type(v) is str and v in allowed else _NONE
    if kind == "date":
        return _date
    return lambda v: _NONE


def _date(v: Any) -> Any:
    if type(v) is date:
        return v
    if type(v) is str and _ISO_DATE.fullmatch(v):
        try:
            return date.fromisoformat(v)
        except ValueError:
            return _NONE
    return _NONE


def _raw_reader(kind: str, values: tuple[str, ...]) -> Any:
    """A reader of one value as given, leaving ``int`` amounts as they are."""
    if kind in ("money", "number", "whole number"):
        return lambda v: v if type(v) is int and -(10**60) < v < 10**60 else _NONE
    return _simple(kind, values)


def _raw_list_reader_for(model: PolicyModel, t: Any) -> Any:
    from policy_rules.checker import type_from_ref

    fields = {}
    converts = False
    for f in model.records[t.record or ""].fields:
        ft = type_from_ref(f.type)
        fields[f.name] = _raw_reader(ft.kind, ft.values)
        converts = converts or ft.kind == "date"
    return _list_reader(fields, converts)


def _list_reader(fields: dict[str, Any], converts: bool = True) -> Any:
    """A reader of a list of items: typed copies, or the list itself as given when no field needs converting."""

    def read(items: Any) -> Any:
        if type(items) is not list or len(items) > 10_000:
            return _NONE
        out = []
        for item in items:
            if type(item) is not dict:
                return _NONE
            typed = {}
            for key, value in item.items():
                reader = fields.get(key)
                if reader is None:
                    return _NONE
                v = reader(value)
                if v is _NONE:
                    return _NONE
                typed[key] = v
            out.append(typed)
        return tuple(out) if converts else items

    return read


class FastTextFacts:
    """Facts written as text (the cells of a CSV register) read into the Python values ``FastRawPath`` takes.

    Only the plainest spellings are read here: ``yes``/``no`` (``true``,
    ``false``, ``y``, ``n``, in lower, title or upper case), whole amounts in
    digits only, text, listed values and dates as written, and lists as JSON.
    A cell that means unknown is left out, as the full validation leaves it
    out. Anything else (``£1,200,000``, ``-5``, ``3.5``, a column the policy
    does not declare) gives ``None``: the caller validates the row in full,
    which reads it or says what is wrong with it.
    """

    def __init__(self, model: PolicyModel) -> None:
        self._readers = {name: _text_reader(t.kind) for name, t in model.fact_types.items()}

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        readers = self._readers
        out: dict[str, Any] = {}
        try:
            for key, cell in row.items():
                value = readers[key](cell)
                if value is _NONE:
                    return None
                if value is not _MISSING:
                    out[key] = value
        except (KeyError, TypeError, AttributeError, ValueError, RecursionError):
            return None
        return out


_MISSING = object()
_BOOLEAN_WORDS = {
    spelled: value
    for words, value in ((("yes", "true", "y"), True), (("no", "false", "n"), False))
    for word in words
    for spelled in (word, word.title(), word.upper())
}
_MISSING_SPELLINGS = frozenset(spelled for word in _MISSING_WORDS for spelled in (word, word.title(), word.upper()))


def _text_reader(kind: str) -> Any:
    """How one cell of a fact of this kind is read; ``TypeError`` for a cell that is not text."""
    if kind == "yes/no":

        def yes_no(cell: str) -> Any:
            found = _BOOLEAN_WORDS.get(cell)
            if found is not None:
                return found
            return _MISSING if cell in _MISSING_SPELLINGS else _NONE

        return yes_no
    if kind in ("money", "number", "whole number"):

        def digits(cell: str) -> Any:
            if cell.isdigit() and cell.isascii() and len(cell) < 19:
                return int(cell)
            return _MISSING if cell in _MISSING_SPELLINGS else _NONE

        return digits
    if kind in ("text", "one of", "date"):

        def text(cell: str) -> Any:
            if type(cell) is not str:
                raise TypeError(cell)
            return _MISSING if cell.strip().lower() in _MISSING_WORDS else cell

        return text
    if kind == "list":

        def listed(cell: str) -> Any:
            if type(cell) is not str:
                raise TypeError(cell)
            return _MISSING if cell.strip().lower() in _MISSING_WORDS else json.loads(cell)

        return listed
    return lambda cell: _NONE
