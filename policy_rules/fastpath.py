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
function runs with a namespace holding only what it needs (no builtins
beyond ``any``, ``all``, ``len``, ``sum``, ``tuple``).

The function evaluates eagerly, in dependency order, only the values the
reported decisions need. It gives up (returns ``None``) whenever anything is
missing or goes wrong (a fact not given, a division by zero, a conflict
between exceptions, a parameter with no value on the date): the caller then
takes the full path, which works out the same decision with its explanation,
or reports the error with its location.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from policy_rules import nodes as n
from policy_rules.checker import PolicyModel, dependencies

_PY_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Conflict(Exception):
    pass


_NONE = object()


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

    def expr(self, e: n.Expr, items: dict[str, str]) -> str:
        m = self.model
        if isinstance(e, n.Literal):
            return self.const(e.value)
        if isinstance(e, n.Name):
            ref = m.refs[id(e)]
            if ref.kind == "value":
                return self.const(ref.name)
            if ref.kind == "fact":
                return f"f[{self.const(ref.name)}]"
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
            options = ", ".join(self.expr(x, items) for x in e.options)
            return f"({self.expr(e.operand, items)} {'not in' if e.negated else 'in'} ({options},))"
        if isinstance(e, n.Test):
            if e.test == "known":
                target = e.operand
                container, key = (items[target.item], target.field) if isinstance(target, n.Field) else ("f", getattr(target, "name", ""))
                return f"({self.const(key)} {'not in' if e.negated else 'in'} {container})"
            return f"(len({self.expr(e.operand, items)}) {'!=' if e.negated else '=='} 0)"
        if isinstance(e, n.Arith):
            return f"({self.expr(e.left, items)} {e.op} {self.expr(e.right, items)})"
        if isinstance(e, n.Neg):
            return f"(-{self.expr(e.operand, items)})"
        if isinstance(e, n.CountOf):
            conditions = m.defines[e.reasons.name].body.members if e.reasons is not None else e.conditions  # type: ignore[union-attr]
            parts = [self.expr(c, items) for c in conditions]
            if e.quantifier == "any":
                return "(" + " or ".join(parts) + ")" if parts else "False"
            if e.quantifier == "all":
                return "(" + " and ".join(parts) + ")" if parts else "True"
            if e.quantifier == "none":
                return "(not (" + " or ".join(parts) + "))" if parts else "True"
            return "((" + " + ".join(f"bool({p})" for p in parts) + f") >= {int(e.at_least)})" if parts else f"(0 >= {int(e.at_least)})"
        if isinstance(e, n.Over):
            var = self.fresh("i")
            inner = {**items, e.item: var}
            collection = self.expr(e.collection, items)
            condition = self.expr(e.condition, inner)
            if e.quantifier == "any":
                return f"any({condition} for {var} in {collection})"
            if e.quantifier == "every":
                return f"all({condition} for {var} in {collection})"
            if e.quantifier == "no":
                return f"(not any({condition} for {var} in {collection}))"
            return f"D(sum(1 for {var} in {collection} if {condition}))"
        if isinstance(e, n.Length):
            return f"D(len({self.expr(e.collection, items)}))"
        raise AssertionError(type(e).__name__)

    # --- decisions -----------------------------------------------------------------------

    def rule(self, label: str, items: dict[str, str], depth: int) -> tuple[str, str]:
        """Statements that leave the rule's value in ``r`` (``NONE`` if it does not apply) and its decider in ``b``."""
        m = self.model
        node = m.rules[label]
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


class FastPath:
    """``fast(facts, as_of)`` gives (outcome, decided_by, priority, element outcomes, reasons) or None."""

    def __init__(self, model: PolicyModel, parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]]) -> None:
        w = _Writer(model, parameters)
        body_start = len(w.lines)
        element_values = "()"
        for name in _needed(model):
            if name in model.defines:
                body = model.defines[name].body
                var = w.fresh("v")
                if isinstance(body, n.ReasonsSet):
                    pairs = ", ".join(f"({w.const(mem.name)}, {w.expr(mem, {})})" for mem in body.members)
                    w.emit(f"{var} = tuple(x for x, held in ({pairs},) if held)")
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
                w.emit(f"for {item} in f[{w.const(decision.for_each.collection.name)}]:")
                value, _decider = w.rule(root, {decision.for_each.item: item}, 2)
                w.emit(f"{results}.append({value})", 2)
                element_values = f"tuple({results})"
        params = [f"    {var} = param({w.const(name)}, as_of)" for name, var in w.params_used.items()]
        w.lines[body_start:body_start] = params
        outcome = w.locals.get(model.outcome or "", "None")
        decider = w.locals.get("@" + (model.outcome or ""), "None")
        priority = w.locals.get(model.priority or "", "None")
        reasons = w.locals.get(model.reasons or "", "()")
        w.emit(f"return ({outcome}, {decider}, {priority}, {element_values}, {reasons})")
        self.source = "def decide(f, as_of):\n" + "\n".join(w.lines) + "\n"
        self.constants = tuple(w.constants)
        namespace: dict[str, Any] = {
            "__builtins__": {"any": any, "all": all, "len": len, "sum": sum, "tuple": tuple, "bool": bool},
            "K": self.constants,
            "NONE": _NONE,
            "Conflict": _Conflict,
            "D": Decimal,
            "param": _parameter_lookup(parameters),
        }
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
    if type(v) is str and len(v) == 10:
        try:
            return date.fromisoformat(v)
        except ValueError:
            return _NONE
    return _NONE


def _list_reader(fields: dict[str, Any]) -> Any:
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
        return tuple(out)

    return read
