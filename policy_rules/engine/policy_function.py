"""A checked policy as one generated Python function over the facts as given, for services whose facts are all known.

When every fact a decision reads is known, three-valued logic, the search for
needed facts and the trace are all unnecessary: the decision is plain Python
logic. The code generator's ``two_valued`` mode (``engine.codegen.TwoValued``)
writes that logic from the lowered policy; this module writes the reading of
the facts before it, and compiles the whole as one function
(``PolicyFunction``) once per policy.

The generated source holds numbered names and indexes into a table of
constants only (``c3``, ``v4``, ``r7``): no text from a rule file is ever
spliced into it, so a rule file cannot inject code, whatever its names or
strings say. The function runs with a namespace holding only what it needs:
its helpers and a few builtins.

**Reading the facts.** The function reads the facts in every shape a user
gives them: any ``Mapping``; amounts as ``int``, ``float``, ``Decimal``,
``1200000`` or ``£1,200,000``; yes/no as ``True`` or as the words the full
validation accepts; dates as ``date`` or ``YYYY-MM-DD``; lists of records, or
their JSON text in a CSV cell; an empty cell or ``unknown`` as a missing fact.
Each value is first checked for its plainest shape inline; any other shape is
read by ``facts.convert`` itself (``_reader``), so every value means exactly
what the full validation makes of it. A value ``convert`` refuses is not
reported here: the caller then runs ``facts.validate``, which reports it with
its location.

**Cannot decide here.** The function returns ``None`` when the facts need
the full path: a fact it reads is missing, a value is wrong, or an amount is
beyond what it handles. Where that is found deep in an expression (a
conflict between exceptions, a division by zero, a parameter with no value on
the date) it raises ``CannotDecide``, the one exception it raises for that
purpose; ``PolicyFunction.decide`` turns it into ``None``. Any other
exception is a bug in the generated code and propagates: callers never catch
``Exception`` around generated code.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from policy_rules.engine.amounts import HELPERS as AMOUNT_HELPERS
from policy_rules.engine.amounts import result_for
from policy_rules.engine.codegen import DATES_OR_GIVE_UP, CannotDecide, TwoValued
from policy_rules.engine.facts import MAX_LIST_ITEMS, MISSING_WORDS, _number, convert, service_name
from policy_rules.engine.lowering import Lowered
from policy_rules.errors import FactsError
from policy_rules.language.checker import PolicyModel, type_from_ref
from policy_rules.values.types import UNKNOWN, Type

_NONE = object()
#: What a reader gives for a value that means the fact is missing (an empty cell, ``unknown``).
_MISSING = object()
#: Kinds of fact that may be left out of the facts given when a condition asks whether they are known (see ``Absent``).
_MAY_BE_ABSENT = frozenset({"date", "yes/no", "one of", "text"})


def _cannot_decide(*_: Any) -> Any:
    raise CannotDecide


class Absent:
    """The value of a fact left out of the facts given, when some condition asks whether it is known.

    ``disposal_date is known and ...`` is settled without the fact's value,
    so an application whose disposal date is not given stays on the generated
    function. Any use of the value itself (comparing it, adding to it, asking
    whether it holds, hashing it, reading an attribute) raises
    ``CannotDecide``, and the service goes to the three-valued evaluator:
    what the generated code decides never depends on a fact it was not given.
    Only kinds that generated code uses through comparisons, truth, hashing
    and attributes may be absent (not amounts, which it converts).
    """

    __slots__ = ()
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __hash__ = __getattr__ = _cannot_decide  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = _cannot_decide
    __iter__ = __len__ = __contains__ = __getitem__ = __index__ = __int__ = __float__ = __str__ = __format__ = _cannot_decide


_ABSENT = Absent()

#: Kinds of fact whose plainest values are of exactly one Python type.
_EXACT_TYPES: dict[str, type] = {"yes/no": bool, "money": int, "number": int, "whole number": int}
#: Texts of dates kept with their dates per fact, at most; the table is emptied when full.
_MEMO_SIZE = 4096
#: Amounts the generated code computes with; larger ones, rare and valid, are decided by the full path.
_LIMIT = 10**60
#: Dates and amounts in the plainest text a CSV cell holds; anything else is read by ``convert``.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_MONEY = re.compile(r"£?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)")
_BOOLEAN_WORDS = {
    spelled: value
    for words, value in ((("yes", "true", "y"), True), (("no", "false", "n"), False))
    for word in words
    for spelled in (word, word.title(), word.upper())
}


def _reader(model: PolicyModel, typ: Type, fact: str, memo: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    """How one value of a fact of this type is read when it is not in its plainest shape.

    Gives the typed value, ``_MISSING`` for a value that means unknown, or
    ``_NONE`` for a value the full validation refuses (it then reports it).
    Common spellings are read directly; everything else by ``convert``, so
    that no value is ever read differently from the full validation.
    ``memo``, for dates, keeps texts already read with their dates: a register
    repeats the same few thousand days, and the generated code looks a text
    up there inline before it calls the reader.
    """
    kind = typ.kind

    def full(value: Any) -> Any:
        try:
            typed = convert(value, typ, model, path="<facts>", service=None, fact=fact)
        except FactsError:
            return _NONE
        return _MISSING if typed is UNKNOWN else typed

    if kind == "yes/no":
        words = _BOOLEAN_WORDS

        def yes_no(value: Any) -> Any:
            found = words.get(value) if type(value) is str else None
            return full(value) if found is None else found

        return yes_no
    if kind in ("money", "number", "whole number"):
        plain = _PLAIN_MONEY.fullmatch if kind == "money" else re.compile(r"[0-9]+").fullmatch

        def amount(value: Any) -> Any:
            kind_of = type(value)
            if kind_of is str:
                if plain(value):
                    return int(value.replace("£", "").replace(",", ""))
            elif kind_of is float and value.is_integer() and -_LIMIT < value < _LIMIT:
                return int(value)  # exactly the value of the full validation's Decimal(repr(value))
            elif kind_of is float or kind_of is Decimal or kind_of is int:
                number = _number(value, kind)
                if number is not None and number == number.to_integral_value():
                    # Equal to the Decimal the full validation gives: every comparison and sum is the same, and faster.
                    return int(number)
                if number is not None:
                    return number
            return full(value)

        return amount
    if kind == "date":
        iso = _ISO_DATE.fullmatch

        def day(value: Any) -> Any:
            if type(value) is str and iso(value):
                try:
                    found = date.fromisoformat(value)
                except ValueError:
                    return _NONE  # not in the calendar: the full validation says so
                if memo is not None:
                    if len(memo) >= _MEMO_SIZE:
                        memo.clear()
                    memo[value] = found
                return found
            return full(value)

        return day
    if kind == "list":
        plain_list = _plain_list(model, typ)

        def items(value: Any) -> Any:
            if type(value) is str and value.strip().lower() not in MISSING_WORDS:
                try:
                    found = plain_list(json.loads(value))
                except ValueError:
                    return _NONE
                if found is not _NONE:
                    return found
            typed = full(value)
            if typed is _NONE or typed is _MISSING:
                return typed
            # Items with a field missing: the generated code reads every field, so the full path decides.
            width = len(model.records[typ.record or ""].fields)
            return typed if all(len(item) == width for item in typed) else _NONE

        return items
    return full


def _plain_list(model: PolicyModel, typ: Type) -> Callable[[Any], Any]:
    """The check of a list whose items are mappings with every field in its plainest shape: the list itself, or ``_NONE``.

    Written as Python once per record, with each field's test inline (a call per field
    was most of its cost). Like the policy function, the source holds numbered names only.
    """
    fields = [(f.name, type_from_ref(f.type)) for f in model.records[typ.record or ""].fields]
    constants: list[Any] = [_NONE, MAX_LIST_ITEMS, len(fields), -_LIMIT, _LIMIT, MISSING_WORDS, date]
    tests = []
    for index, (name, field_type) in enumerate(fields):
        constants.append(name)
        var = f"a{index}"
        kind = field_type.kind
        if kind == "yes/no":
            tests.append(f"({var} is True or {var} is False)")
        elif kind in ("money", "number", "whole number"):
            bound = model.minimums.get(f"{typ.record}.{name}")
            if bound is not None:
                constants.append(bound[0])
            lower = f"k{len(constants) - 1} <=" if bound is not None else "k3 <"
            tests.append(f"(type({var}) is int and {lower} {var} < k4)")
        elif kind == "text":
            tests.append(f"(type({var}) is str and {var}.strip().lower() not in k5)")
        elif kind == "one of":
            constants.append(_plain_values(field_type))
            tests.append(f"(type({var}) is str and {var} in k{len(constants) - 1})")
        elif kind == "date":
            tests.append(f"(type({var}) is k6)")
        else:
            tests.append("False")
    names = [i for i, c in enumerate(constants) if i >= 7 and type(c) is str]
    lines = [
        "def make(K):",
        f"    {', '.join(f'k{i}' for i in range(len(constants)))}, = K",
        "    def check(value):",
        "        if type(value) is not list or len(value) > k1: return k0",
        "        for item in value:",
        "            if type(item) is not dict or len(item) != k2: return k0",
    ]
    if fields:
        lines += [
            "            try:",
            *(f"                a{index} = item[k{i}]" for index, i in enumerate(names)),
            "            except KeyError:",
            "                return k0",
            f"            if not ({' and '.join(tests)}): return k0",
        ]
    lines += ["        return value", "    return check"]
    namespace: dict[str, Any] = {"__builtins__": {"type": type, "len": len, "list": list, "dict": dict, "int": int, "str": str, "KeyError": KeyError}}
    exec(compile("\n".join(lines) + "\n", "<policy_rules generated list check>", "exec"), namespace)
    return namespace["make"](tuple(constants))  # type: ignore[no-any-return]


def _plain_values(typ: Type) -> frozenset[str]:
    """The listed values as written, except any that the full validation reads as unknown."""
    return frozenset(v for v in typ.values if v.strip().lower() not in MISSING_WORDS)


def _namespace(constants: tuple[Any, ...], parameters: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "__builtins__": {
            "any": any,
            "all": all,
            "len": len,
            "sum": sum,
            "tuple": tuple,
            "bool": bool,
            "type": type,
            "map": map,
            "int": int,
            "str": str,
            "float": float,
            "KeyError": KeyError,
        },
        "K": constants,
        "NONE": _NONE,
        "MISSING": _MISSING,
        "ABSENT": _ABSENT,
        "CannotDecide": CannotDecide,
        "D": Decimal,
        "DIV": divide,
        **DATES_OR_GIVE_UP,
        **AMOUNT_HELPERS,
        "param": _parameter_lookup(parameters),
        "COMPRESS": itertools.compress,
        **extra,
    }


def divide(a: Any, b: Any) -> Any:
    """``a / b`` for generated code; by zero, the full path reports the calculation with its location."""
    if not b:
        raise CannotDecide
    return a / b


def _parameter_lookup(parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]]) -> Any:
    def param(name: str, as_of: date) -> Any:
        for start, until, value in parameters[name]:
            if start <= as_of and (until is None or as_of <= until):
                return value
        raise CannotDecide  # no value on that date: the full path says so, with the parameter's location

    return param


class _RawWriter(TwoValued):
    """The two-valued generator, with the statements that read the facts as given into its locals."""

    def read_given(self, var: str, name: str, depth: int, missing: str, *, bounded: bool = True) -> None:
        """Statements that leave the typed value of fact ``name`` in ``var``, or run ``missing`` when it means unknown.

        The plainest shape is checked inline; any other is read by the fact's
        reader (``_reader``), and the function gives up on a value it refuses.
        """
        t = self.model.fact_types[name]
        plain = _plain_test(self, var, t)
        if plain != "True":
            self.emit(f"if not {plain}:", depth)
            # An empty cell is a missing fact, as the full validation reads it.
            self.emit(f"if type({var}) is str and not {var}: {var} = MISSING", depth + 1)
            self.emit("else:", depth + 1)
            # The commonest text of a CSV cell is read inline, without a call: ``yes``, ``No``, ``1200000``.
            if t.kind == "yes/no":
                self.emit(f"if type({var}) is str: {var} = {self.table(_BOOLEAN_WORDS)}.get({var}, {var})", depth + 2)
            elif t.kind == "date":
                memo: dict[str, Any] = {}
                self.emit(f"if type({var}) is str: {var} = {self.table(memo)}.get({var}, {var})", depth + 2)
            elif t.kind in _EXACT_TYPES:
                self.emit(f"if type({var}) is str and {var}.isdigit() and {var}.isascii(): {var} = int({var})", depth + 2)
                # Integral float and Decimal amounts as int: equal to the full validation's Decimal, so every result is the same.
                self.emit(f"elif type({var}) is float and {var}.is_integer(): {var} = int({var})", depth + 2)
                self.emit(f"elif type({var}) is D and {var}.is_finite() and {var} == {var}.to_integral_value(): {var} = int({var})", depth + 2)
            reader = _reader(self.model, t, name, memo if t.kind == "date" else None)
            self.emit(f"if not {plain}: {var} = {self.const(reader)}({var})", depth + 2)
            self.emit(f"if {var} is NONE: return None", depth + 2)
            self.emit(f"if {var} is MISSING: {missing}", depth + 1)
        if bounded and t.kind in _EXACT_TYPES and t.kind != "yes/no":
            self.emit(f"if not {self.const(-_LIMIT)} < {var} < {self.const(_LIMIT)}: return None", depth)
        bound = self.model.minimums.get(name)
        if bound is not None:  # below its least value (a negative amount of money): the full validation reports it
            self.emit(f"if {var} is not MISSING and {var} < {self.const(bound[0])}: return None", depth)


def _lower(w: _RawWriter, name: str) -> str:
    """The lower end of the test of an amount read in its plainest shape: its least value when it has one, else the largest amount read."""
    bound = w.model.minimums.get(name)
    return f"{w.const(bound[0])} <=" if bound is not None else f"{w.const(-_LIMIT)} <"


def _plain_test(w: _RawWriter, var: str, t: Type) -> str:
    """An expression that holds when ``var`` is in its plainest shape, read as it is; ``False`` when there is none."""
    if t.kind in _EXACT_TYPES:
        return f"(type({var}) is {_EXACT_TYPES[t.kind].__name__})"
    if t.kind == "text":
        return f"(type({var}) is str and {var}.strip().lower() not in {w.const(MISSING_WORDS)})"
    if t.kind == "one of":
        return f"(type({var}) is str and {var} in {w.const(_plain_values(t))})"
    if t.kind == "date":
        return f"(type({var}) is {w.const(date)})"
    if t.kind == "list":
        return f"({w.const(_plain_list(w.model, t))}({var}) is {var})"
    return "False"


class PolicyFunction:
    """The policy as one generated function over the facts as given, reading them and giving the ``Decision``.

    ``decide(raw, as_of, shown_as_of, index)`` gives the decision, or
    ``None`` when the facts need the full path (see the module docstring).
    Yes/no facts and amounts in their plainest shape (``True``, an ``int``)
    are fetched with one ``itemgetter`` and checked with one comparison of
    their types; when that fails, each is read on its own. Amounts may stay
    ``int``: comparing ``int`` with ``Decimal`` is exact, and arithmetic
    converts to ``Decimal`` first, so every result is the full path's.
    """

    def __init__(
        self,
        lowered: Lowered,
        parameters: Mapping[str, tuple[tuple[date, date | None, Any], ...]],
        build: Callable[..., Any],
        info: Any,
        element_outcomes: Any,
        outcome_kind: Callable[[Any], str] | None = None,
        result_kinds: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        """``outcome_kind`` shows a valued outcome as the decision gives it; ``result_kinds`` are the header's results with their kinds."""
        model = lowered.model
        self.source = ""
        self._decide: Any = lambda *_: None
        if not model.outcome:
            return
        w = _RawWriter(lowered)
        outcome, decider, priority, elements, reasons = w.decisions()
        items = w.fact(model.decisions[model.element_outcomes].for_each.collection.name) if model.element_outcomes else "()"  # type: ignore[union-attr]
        results = [w.locals[name] for name in model.results]
        valued = [w.locals[name] for name in model.results if name in model.decisions]
        settled = [value for value in (outcome, priority, *valued) if value != "None"]
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
        if outcome_kind is not None:
            outcome = f"{w.const(outcome_kind)}({outcome})"
        shown = []
        for (name, kind), v in zip(result_kinds, results, strict=True):
            write = result_for(name, kind)
            kept = getattr(write, "kept", None)
            # An amount already written is found without a Python call: cases repeat a few amounts (£0, the maximum).
            found = f"({w.const(kept)}({v}) if type({v}) is int or not {v}.is_signed() else None) or " if kept is not None and v.isidentifier() else ""
            shown.append(f"{found}{w.const(write)}({v}), ")
        shown_results = "".join(shown)
        w.emit(f"return BUILD((name, {outcome}, {priority}, {reasons}, {elements}, (), (), True, (), INFO, shown, {decider}, ({shown_results}), ()))")
        body = w.lines
        w.lines = []
        self._write_reading(w, model)
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
        namespace = _namespace(constants, parameters, BUILD=build, INFO=info, ELEMENTS=element_outcomes)
        # Numbered names and indexes only; constants reach the code as cells.
        exec(compile(self.source, "<policy_rules generated policy function>", "exec"), namespace)
        self._decide = namespace["make"](constants)

    @staticmethod
    def _write_reading(w: _RawWriter, model: PolicyModel) -> None:
        """The prologue: every fact given read into its local, or checked when no decision reads it; ``name`` set."""
        read = [name for name in model.facts if name in w.fact_vars]
        optional = [name for name in read if name in w.known_facts and model.facts[name].default is None and model.fact_types[name].kind in _MAY_BE_ABSENT]
        plain = [name for name in read if model.facts[name].default is None and name not in optional]
        yes_no = [name for name in plain if model.fact_types[name].kind == "yes/no"]
        amounts = [name for name in plain if model.fact_types[name].kind in _EXACT_TYPES and name not in yes_no]
        others = [name for name in plain if name not in yes_no and name not in amounts]
        if plain:
            w.emit("try:")
            for group, tuple_var in ((amounts, "ta"), (yes_no, "tb")):
                if len(group) > 1:
                    w.emit(f"{tuple_var} = {w.const(operator.itemgetter(*group))}(f)", 2)
                elif group:
                    w.emit(f"{tuple_var} = (f[{w.const(group[0])}],)", 2)
            for name in others:
                w.emit(f"{w.fact_vars[name]} = f[{w.const(name)}]", 2)
            w.emit("except KeyError:")  # a fact it reads is not given: only the full path decides without it
            w.emit("return None", 2)
        if amounts:
            w.emit(f"{', '.join(w.fact_vars[name] for name in amounts)}, = ta")
            w.emit(f"if tuple(map(type, ta)) != {w.const(tuple(int for _ in amounts))}:")
            for name in amounts:
                w.read_given(w.fact_vars[name], name, 2, "return None", bounded=False)
            bounds = " and ".join(f"{_lower(w, name)} {w.fact_vars[name]} < {w.const(_LIMIT)}" for name in amounts)
            w.emit(f"if not ({bounds}): return None")
        if yes_no:
            targets = f"{', '.join(w.fact_vars[name] for name in yes_no)},"
            w.emit(f"{targets} = tb")
            w.emit("u = tuple(map(type, tb))")
            w.emit(f"if u != {w.const(tuple(bool for _ in yes_no))}:")
            # A register's cells, all text: every yes/no word read by one map over a table of the commonest spellings.
            w.emit(f"tb = tuple(map({w.table(_BOOLEAN_WORDS)}.get, tb)) if u == {w.const(tuple(str for _ in yes_no))} else (None,)", 2)
            w.emit("if None in tb:", 2)
            for name in yes_no:
                w.read_given(w.fact_vars[name], name, 3, "return None", bounded=False)
            w.emit("else:", 2)
            w.emit(f"{targets} = tb", 3)
        for name in others:
            w.read_given(w.fact_vars[name], name, 1, "return None")
        w.emit(f"given = {len(plain)}")
        for name in optional:
            var = w.fact_vars[name]
            w.emit(f"{var} = f.get({w.const(name)}, ABSENT)")
            w.emit(f"if {var} is not ABSENT:")
            w.emit("given += 1", 2)
            w.read_given(var, name, 2, "return None")
        for name in read:
            decl = model.facts[name]
            if decl.default is None:
                continue
            var = w.fact_vars[name]
            default = w.const(decl.default.value if decl.default.kind != "list" else ())
            w.emit(f"{var} = f.get({w.const(name)}, NONE)")
            w.emit(f"if {var} is NONE: {var} = {default}")
            w.emit("else:")
            w.emit("given += 1", 2)
            w.read_given(var, name, 2, f"{var} = {default}")
        unread = [name for name in model.facts if name not in w.fact_vars]
        # The service is named by its name as given when that is text, otherwise as the full validation names it.
        named = w.const(functools.partial(service_name, model))
        service = model.service_name
        if service is None:
            w.emit("name = None")
        elif service in unread:
            unread.remove(service)  # read once: checked as a fact and taken as the name
            w.emit(f"name = f.get({w.const(service)}, NONE)")
            w.emit("if name is NONE: name = None")
            w.emit("else:")
            w.emit("given += 1", 2)
            depth = 2
            if model.fact_types[service].kind == "text":
                # Text in its plainest shape is not blank and names the service: only another shape needs reading.
                w.emit(f"if not {_plain_test(w, 'name', model.fact_types[service])}:", 2)
                depth = 3
            w.emit("v = name", depth)
            w.read_given("v", service, depth, "pass", bounded=False)
            w.emit("if type(name) is not str or not name.strip(): name = None", depth)
        else:
            w.emit(f"name = f.get({w.const(service)})")
            w.emit("if type(name) is not str or not name.strip(): name = None")
        # Facts read by no decision are only checked, and only when the mapping holds more than the facts read.
        depth = 1
        if unread:
            w.emit("if len(f) != given:")
            depth = 2
        for name in unread:
            w.emit(f"v = f.get({w.const(name)}, NONE)", depth)
            w.emit("if v is not NONE:", depth)
            w.emit("given += 1", depth + 1)
            w.read_given("v", name, depth + 1, "pass", bounded=False)
        # Every fact given is either read above or counted: a mapping with more
        # keys than that holds a name the policy does not declare.
        w.emit("if len(f) != given: return None", depth)
        w.emit(f"if name is None: name = {named}(f, index)")

    def decide(self, raw: Mapping[str, Any], as_of: date, shown: str, index: int) -> Any:
        """The decision without its trace, or ``None`` when only the full path can decide; a bug in the generated code propagates."""
        try:
            return self._decide(raw, as_of, shown, index)
        except CannotDecide:
            return None
