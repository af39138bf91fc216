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

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal
from typing import Any

from policy_rules.engine.scales import applied
from policy_rules.engine.values import UNKNOWN, format_value

#: How each direction of rounding is done: to the nearest (a half goes up, as officers round), down or up.
DIRECTIONS = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}
#: The unit each rounding is to, as a ``Decimal`` exponent.
UNITS = {"penny": "0.01", "pound": "1", "whole number": "1"}


def greater(a: Any, b: Any) -> Any:
    """The greater of two amounts, numbers or dates (either when they are equal)."""
    return b if b > a else a


def smaller(a: Any, b: Any) -> Any:
    """The smaller of two amounts, numbers or dates (either when they are equal)."""
    return b if b < a else a


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
            return format(rounded(number, "0.01", ROUND_HALF_UP), "f")
        if kind == "whole number" and number == number.to_integral_value():
            return int(number)
        return _decimal_text(number)
    return str(value)


def _decimal_text(number: Decimal) -> str:
    """A number as plain decimal text, without an exponent or trailing zeros (``0.25``, ``12``)."""
    if number == number.to_integral_value():
        return format(number, ".0f")
    return format(number.normalize(), "f")


def result(name: str, value: Any, kind: str | None) -> tuple[str, Any, str]:
    """One of a decision's results: its name, its value as the JSON decision gives it, and as an officer reads it (``£9,500``)."""
    return (name, encode(value, kind), format_value(value, kind))


#: The names generated code calls these by, in every mode's namespace.
HELPERS = {"GREATER": greater, "SMALLER": smaller, "ROUND": rounded, "SCALE": applied}
