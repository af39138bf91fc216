"""The facts reader: one service's facts, read as their declarations say (the one reading every path shares).

``validate`` turns the facts a caller gives (a mapping from a facts file, a
request, a register's row) into typed values: yes/no, exact amounts, dates,
listed values, lists of records, with a missing value left out (unknown, never
false). Everything people type in spreadsheets is accepted where it is
unambiguous (``yes``, ``£1,200,000``, ``5%``, an empty cell); anything else is
a ``FactsError`` naming the file, the service and the fact, with the expected
form or the nearest declared name. The generated fast path reads the plainest
shapes itself and hands every other shape to ``convert``, so a value means the
same on every path. Reading files (YAML, JSON, CSV, Excel) is the registers'
work (``policy_rules.registers.facts``), which builds on this.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from policy_rules.errors import FactsError, did_you_mean
from policy_rules.language.checker import PolicyModel, type_from_ref
from policy_rules.values.types import UNKNOWN, Type

MAX_LIST_ITEMS = 10_000
MISSING_WORDS = frozenset({"", "unknown", "n/a", "?"})
_TRUE = frozenset({"yes", "true", "y"})
_FALSE = frozenset({"no", "false", "n"})
_MONEY = re.compile(r"^(-\s*£?|£?\s*-?)\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def _bad(message: str, path: str, service: str | None, fact: str | None) -> FactsError:
    return FactsError(message, path=path, service=service, fact=fact)


def convert(value: Any, typ: Type, model: PolicyModel, *, path: str, service: str | None, fact: str) -> Any:
    """The typed value of one fact, or a ``FactsError`` saying what form was expected."""
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING_WORDS):
        return UNKNOWN
    kind = typ.kind
    if kind == "yes/no":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise _bad(f"{_shown(value)} is not yes or no; write yes, no, true or false", path, service, fact)
    if kind in ("number", "whole number", "money", "percentage"):
        number = _number(value, kind)
        if number is None:
            forms = {
                "money": "an amount such as 1200000 or £1,200,000",
                "percentage": "a percentage such as 5%",
                "whole number": "a whole number such as 12",
                "number": "a number such as 3.5",
            }[kind]
            raise _bad(f"{_shown(value)} is not {typ.words}; write {forms}", path, service, fact)
        return number
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise _bad(f"{_shown(value)} is not a date in the calendar; write it as YYYY-MM-DD, such as 2020-03-31", path, service, fact) from None
        raise _bad(f"{_shown(value)} is not a date; write it as YYYY-MM-DD, such as 2020-03-31", path, service, fact)
    if kind == "text":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and _number(value, "number") is not None:
            return str(value)
        raise _bad(f"{_shown(value)} is not text", path, service, fact)
    if kind == "one of":
        if isinstance(value, str) and value.strip() in typ.values:
            return value.strip()
        hint = did_you_mean(value.strip(), typ.values) if isinstance(value, str) else ""
        raise _bad(f"{_shown(value)} is not one of {', '.join(typ.values)}{hint}", path, service, fact)
    if kind == "list":
        return _list(value, typ, model, path=path, service=service, fact=fact)
    raise AssertionError(kind)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_SHOWN_ITEMS = 6
_MAX_DIGITS = 100


def _shown(value: Any) -> str:
    """A value in a message as it was written, cut short: never a huge or self-repeating structure in full."""
    text = _written(value, 2)
    return text if len(text) <= 60 else text[:57] + "..."


def _written(value: Any, depth: int) -> str:
    if isinstance(value, str):
        return f'"{value[:100]}"'
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 300 else f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, (float, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, (list, tuple)):
        if depth == 0:
            return "[...]"
        shown = [_written(v, depth - 1) for v in value[:_SHOWN_ITEMS]]
        return "[" + ", ".join(shown) + (", ...]" if len(value) > _SHOWN_ITEMS else "]")
    if isinstance(value, Mapping):
        if depth == 0:
            return "{...}"
        pairs = [f"{_written(k, 0)}: {_written(v, depth - 1)}" for k, v in list(value.items())[:_SHOWN_ITEMS]]
        return "{" + ", ".join(pairs) + (", ...}" if len(value) > _SHOWN_ITEMS else "}")
    return _REPR.repr(value)


def _number(value: Any, kind: str) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if kind == "percentage" and not isinstance(value, str):
        return None  # 5 could mean 5% or 500%: a percentage is written with its sign
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, (int, Decimal)):
        number = Decimal(value)
        if not number.is_finite():
            return None
    elif isinstance(value, str):
        text = value.strip()
        if kind == "percentage":
            if not text.endswith("%"):
                return None
            body = text[:-1].strip()
            if not _NUMBER.match(body):
                return None
            return Decimal(body.replace(",", "")) / 100
        pattern = _MONEY if kind == "money" else _NUMBER
        if not pattern.match(text):
            return None
        negative = text.startswith("-") or "£-" in text.replace(" ", "")
        try:
            number = Decimal(text.replace("£", "").replace(",", "").replace("-", "").strip())
        except InvalidOperation:
            return None
        if negative:
            number = -number
    else:
        return None
    if number and abs(number.adjusted()) > _MAX_DIGITS:
        return None  # no amount a council deals in has this many digits
    if kind == "whole number" and number != number.to_integral_value():
        return None
    return number


def _list(value: Any, typ: Type, model: PolicyModel, *, path: str, service: str | None, fact: str) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad(f"{_shown(value)} is not a list; give a list of {typ.record} items, each with its fields", path, service, fact) from None
    if not isinstance(value, list):
        raise _bad(f"{_shown(value)} is not a list; give a list of {typ.record} items, each with its fields", path, service, fact)
    if len(value) > MAX_LIST_ITEMS:
        raise _bad(f"the list has {len(value)} items, more than the limit of {MAX_LIST_ITEMS}", path, service, fact)
    record = model.records[typ.record or ""]
    fields = {f.name: type_from_ref(f.type) for f in record.fields}
    defaults = {f.name: f.default.value for f in record.fields if f.default is not None}
    items = []
    for index, item in enumerate(value):
        where = f"{fact}[{index}]"
        if not isinstance(item, Mapping):
            raise _bad(f"item {index} is {_shown(item)}, not a {record.name} with fields {', '.join(fields)}", path, service, where)
        typed: dict[str, Any] = {}
        for key, raw in item.items():
            if not isinstance(key, str) or key not in fields:
                raise _bad(f"a {record.name} has no field `{key}`; its fields are {', '.join(fields)}{did_you_mean(str(key), fields)}", path, service, where)
            v = convert(raw, fields[key], model, path=path, service=service, fact=f"{where}.{key}")
            if v is not UNKNOWN:
                _at_least(v, raw, key, model.minimums.get(f"{record.name}.{key}"), path=path, service=service, fact=f"{where}.{key}")
                typed[key] = v
        for name, default in defaults.items():
            typed.setdefault(name, default)  # an optional field not given (or given as unknown) reads as its default
        items.append(typed)
    return tuple(items)


def validate(model: PolicyModel, raw: Mapping[str, Any], *, path: str = "<facts>", index: int = 0) -> tuple[dict[str, Any], str | None]:
    """Typed facts for one service (missing facts left out, defaults filled in) and its name."""
    if not isinstance(raw, Mapping):
        raise _bad(f"a service must be a mapping of fact names to values, not {_shown(raw)}", path, f"#{index + 1}", None)
    service = service_name(model, raw, index)
    facts: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in model.fact_types:
            hint = did_you_mean(str(key), model.fact_types)
            raise _bad(f"there is no fact called `{key}` in this policy{hint}", path, service, str(key))
        v = convert(value, model.fact_types[key], model, path=path, service=service, fact=key)
        if v is not UNKNOWN:
            _at_least(v, value, key, model.minimums.get(key), path=path, service=service, fact=key)
            facts[key] = v
    for name, decl in model.facts.items():
        if name not in facts and decl.default is not None:
            facts[name] = decl.default.value if decl.default.kind != "list" else ()
    return facts, service


def _at_least(typed: Any, value: Any, name: str, bound: tuple[Decimal, str] | None, *, path: str, service: str | None, fact: str) -> None:
    """Refuse an amount below the least its declaration allows (£0 for money not declared ``may be negative``)."""
    if bound is None or typed >= bound[0]:
        return
    never = "; an amount here is never negative" if bound[0] == 0 else ""
    raise _bad(f"{_shown(value)} is less than {bound[1]}, the least `{name}` can be{never}", path, service, fact)


def service_name(model: PolicyModel, raw: Mapping[str, Any], index: int) -> str:
    if model.service_name:
        name = raw.get(model.service_name)
        if isinstance(name, str) and name.strip():
            return name
        if isinstance(name, (int, float)) and not isinstance(name, bool) and _number(name, "number") is not None:
            return str(name)
    return f"#{index + 1}"


# --- facts files ---------------------------------------------------------------------------
