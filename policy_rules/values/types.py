"""Types and values: what a fact can hold, how it is shown, and the unknown value.

Numbers and money are ``Decimal`` so that a threshold such as "110% of the
budget" compares exactly; percentages are stored as fractions (5% is 0.05).
``UNKNOWN`` is the value of a fact nobody supplied: it is neither true nor
false, and logic over it is three-valued (Kleene).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import attrs

from policy_rules.values.dates import Period


class _Unknown:
    """The single unknown value. Falsy tests on it are a bug: compare with ``is``."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; compare it with `is UNKNOWN`")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

NUMERIC = frozenset({"number", "whole number", "percentage"})

#: Whole numbers below this stay exact integers in JSON; larger ones become floats.
_EXACT_INT = Decimal(10) ** 30


@attrs.frozen
class Type:
    """A type of the language. ``values`` for enumerations and outcomes, ``record`` for lists/items."""

    kind: str
    values: tuple[str, ...] = ()
    record: str | None = None

    def __str__(self) -> str:
        if self.kind == "one of":
            return "one of " + ", ".join(self.values)
        if self.kind == "list":
            return f"list of {self.record}"
        if self.kind == "item":
            return f"a {self.record}"
        if self.kind == "reasons":
            return "a set of reasons"
        if self.kind == "error":
            return "an unknown type"
        return self.kind

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def words(self) -> str:
        """The type as an officer would name it in a sentence."""
        return {
            "yes/no": "yes/no",
            "number": "a number",
            "whole number": "a whole number",
            "money": "money",
            "percentage": "a percentage",
            "date": "a date",
            "period": "a period",
            "text": "text",
            "marginal scale": "a marginal scale",
            "banded scale": "a banded scale",
        }.get(self.kind, str(self))


@attrs.frozen
class Scale:
    """A scale's value on one date: its thresholds in rising order, each with its rate (marginal) or what its band gives (banded).

    ``threshold_kind`` and ``value_kind`` say how the thresholds and values are
    shown (money, number, percentage). What a scale does to an amount is
    written once, in ``engine.scales``.
    """

    kind: str  # "marginal" | "banded"
    thresholds: tuple[Decimal, ...]
    values: tuple[Decimal, ...]
    threshold_kind: str
    value_kind: str

    def __str__(self) -> str:
        word = "above" if self.kind == "marginal" else "from"
        return ", ".join(
            f"{format_value(v, self.value_kind)} {word} {format_value(t, self.threshold_kind)}" for t, v in zip(self.thresholds, self.values, strict=True)
        )


YES_NO = Type("yes/no")
NUMBER = Type("number")
WHOLE = Type("whole number")
MONEY = Type("money")
PERCENTAGE = Type("percentage")
DATE = Type("date")
PERIOD = Type("period")
TEXT = Type("text")
REASONS = Type("reasons")
ERROR = Type("error")


def format_value(value: Any, kind: str | None = None) -> str:
    """A value as an officer reads it: yes/no, £1,200,000, 5%, 2020-03-31."""
    if value is UNKNOWN:
        return "unknown"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, Decimal):
        if kind == "money":
            shown = _grouped(value.copy_abs())
            return "-£" + shown if value < 0 and shown.strip("0.,") else "£" + shown  # nothing that shows as zero has a sign
        if kind == "percentage":
            return _plain(value * 100) + "%"
        return _plain(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _plain(value: Decimal) -> str:
    # Formatting, unlike quantize, works at any size: no decimal context limit applies.
    if value == value.to_integral_value():
        return format(value.copy_abs() if value.is_zero() else value, ".0f")
    return format(value.normalize(), "f")


def _grouped(value: Decimal) -> str:
    """Pounds with thousands separators, and pence rounded half up, as the JSON decision rounds them (``encode``)."""
    if value == value.to_integral_value():
        return format(value, ",.0f")
    with localcontext(rounding=ROUND_HALF_UP):
        return format(value, ",.2f")


def json_value(value: Any) -> Any:
    """A value for the JSON decision: numbers stay numbers, dates ISO strings, unknown null."""
    if value is UNKNOWN:
        return None
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < _EXACT_INT:
            return int(value)
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Period | Scale):
        return str(value)
    if isinstance(value, tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value
