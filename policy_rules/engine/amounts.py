"""Amounts: the helpers every mode of the code generator calls for the forms that work out a value, and how a value is reported.

The meaning of ``the greater of``, ``the smaller of`` and rounding is written
here once; ``codegen`` writes a call to these helpers in every mode (two-valued,
traced and three-valued), so no mode has its own arithmetic. Rounding is done
in ``Decimal`` with as many digits as the value needs, so no amount is ever a
binary float and no amount is too large to round.

``encode`` gives a value as the JSON decision's ``results`` carry it (see
``docs/decision-json.md``): money as pounds and pence in a string, whole
numbers as integers, other numbers and percentages as decimal strings, dates
ISO, yes/no as booleans, unknown as null.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal
from typing import Any

from policy_rules.engine.scales import applied
from policy_rules.values.types import UNKNOWN, format_value

#: How each direction of rounding is done: to the nearest (a half goes up, as officers round), down or up.
DIRECTIONS = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}
#: The unit each rounding is to, as a ``Decimal`` exponent.
UNITS = {"penny": "0.01", "pound": "1", "whole number": "1"}


def greater(first: Any, *rest: Any) -> Any:
    """The greatest of two or more amounts, numbers or dates (the first of equal ones)."""
    best = first
    for value in rest:
        if value > best:
            best = value
    return best


def smaller(first: Any, *rest: Any) -> Any:
    """The smallest of two or more amounts, numbers or dates (the first of equal ones)."""
    best = first
    for value in rest:
        if value < best:
            best = value
    return best


def rounded(value: Any, unit: str, direction: str) -> Decimal:
    """``value`` rounded to ``unit`` (``"0.01"`` or ``"1"``) in ``direction`` (a ``decimal`` rounding), exactly, however large."""
    number = value if type(value) is Decimal else Decimal(value)
    digits = max(number.adjusted(), 0) + 4
    return number.quantize(Decimal(unit), rounding=direction, context=Context(prec=digits))


def encode(value: Any, kind: str | None) -> Any:
    """A result as the JSON decision reports it (``"9500.00"``, ``35``, ``"0.25"``, ``"2025-04-01"``, ``true``, ``null``)."""
    if value is UNKNOWN:
        return None
    if value is True or value is False:
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        number = Decimal(value)
        if kind == "money":
            pennies = rounded(number, "0.01", ROUND_HALF_UP)
            return format(pennies.copy_abs() if pennies.is_zero() else pennies, "f")  # "0.00", never "-0.00"
        if kind == "whole number" and number == number.to_integral_value():
            return int(number)
        return _decimal_text(number)
    return str(value)


def _decimal_text(number: Decimal) -> str:
    """A number as plain decimal text, without an exponent or trailing zeros (``0.25``, ``12``)."""
    if number == number.to_integral_value():
        return format(number.copy_abs() if number.is_zero() else number, ".0f")
    return format(number.normalize(), "f")


def result(name: str, value: Any, kind: str | None) -> tuple[str, Any, str]:
    """One of a decision's results: its name, its value as the JSON decision gives it, and as an officer reads it (``£9,500``)."""
    return (name, encode(value, kind), format_value(value, kind))


def result_for(name: str, kind: str | None) -> Callable[[Any], tuple[str, Any, str]]:
    """``result`` for one named result of one kind, made once per policy for the generated function that decides without a trace.

    That function may hold an amount as an ``int`` (the value given); the
    result is the one the full path gives for the same amount in ``Decimal``.
    Money that is a whole number of pounds, the common case, is written
    without ``Decimal`` rounding, and the last few such results are kept:
    the same amount recurs from case to case (``£0``, the maximum grant).
    The function's ``kept`` looks a kept result up by its amount (C calls
    only; an equal whole ``Decimal`` finds it too), so generated code can find
    one before calling; a negative zero must not be looked up, as it would not
    show as zero does.
    """
    if kind != "money":
        return lambda value: result(name, Decimal(value) if type(value) is int else value, kind)
    kept: dict[int, tuple[str, Any, str]] = {}

    def money(value: Any) -> tuple[str, Any, str]:
        found = kept.get(value)  # a whole Decimal finds the int it equals; a negative zero would not show as zero does
        if found is not None and (type(value) is int or not value.is_signed()):
            return found
        if type(value) is not int:
            if type(value) is not Decimal or not value.is_finite() or value.is_signed() or value != value.to_integral_value():
                return result(name, value, kind)
            value = int(value)
        found = kept.get(value)
        if found is None:
            if len(kept) >= 256:
                kept.clear()
            found = kept[value] = (name, f"{value}.00", f"-£{-value:,}" if value < 0 else f"£{value:,}")
        return found

    money.kept = functools.partial(dict.get, kept)  # type: ignore[attr-defined]
    return money


#: The names generated code calls these by, in every mode's namespace.
HELPERS = {"GREATER": greater, "SMALLER": smaller, "ROUND": rounded, "SCALE": applied}
