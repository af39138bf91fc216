"""Scales: what a marginal or banded scale does to an amount, written once for every mode and for the explanation.

A marginal scale (``a marginal scale``) takes, for each bracket, the part of
the amount above the bracket's threshold and up to the next bracket's, at the
bracket's rate, and adds them up; the part below the first threshold is at no
rate. A banded scale (``a banded scale of percentage``) gives what the band
the amount reaches gives: the last band whose threshold the amount is at
least; an amount below the first threshold is in the first band.

The code generator writes a call to ``applied`` (``SCALE``, through ``amounts.HELPERS``) in every mode (two-valued,
traced and three-valued); ``engine.calculation`` calls ``steps`` to show, in
the trace, the part of the amount in each bracket with its rate, or the band
reached. All arithmetic is ``Decimal``, exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from policy_rules.engine.values import Scale, format_value


class Step(NamedTuple):
    """One bracket's share of an amount (``part`` at ``rate`` gives ``gives``), or the band an amount reaches (``part`` is None)."""

    threshold: Decimal
    part: Decimal | None
    rate: Decimal
    gives: Decimal


def _number(amount: Any) -> Decimal:
    return amount if type(amount) is Decimal else Decimal(amount)


def _band(scale: Scale, amount: Decimal) -> int:
    """The index of the band ``amount`` reaches: the last whose threshold it is at least (the first band below them all)."""
    reached = 0
    for index, threshold in enumerate(scale.thresholds):
        if amount >= threshold:
            reached = index
    return reached


def steps(scale: Scale, amount: Any) -> tuple[Step, ...]:
    """The brackets an amount reaches with the part of it in each, or the one band it reaches."""
    x = _number(amount)
    if scale.kind == "banded":
        index = _band(scale, x)
        return (Step(scale.thresholds[index], None, scale.values[index], scale.values[index]),)
    found = []
    tops = (*scale.thresholds[1:], None)
    for threshold, top, rate in zip(scale.thresholds, tops, scale.values, strict=True):
        if x <= threshold:
            break
        part = x - threshold if top is None or x < top else top - threshold
        found.append(Step(threshold, part, rate, part * rate))
    return tuple(found)


def applied(scale: Scale, amount: Any) -> Decimal:
    """``scale applied to amount``: the sum over the brackets of each part at its rate, or what the band reached gives."""
    x = _number(amount)
    if scale.kind == "banded":
        return scale.values[_band(scale, x)]
    total = Decimal(0)
    tops = (*scale.thresholds[1:], None)
    for threshold, top, rate in zip(scale.thresholds, tops, scale.values, strict=True):
        if x <= threshold:
            break
        total += ((x if top is None or x < top else top) - threshold) * rate
    return total


def explained(name: str, scale: Scale, amount: Any) -> str:
    """The steps as the trace shows them: ``income_tax on £20,000: £7,430 in the bracket above £12,570 at 20% = £1,486, ...``."""
    amount_kind = scale.threshold_kind
    shown = f"{name} on {format_value(_number(amount), amount_kind)}"
    found = steps(scale, amount)
    if scale.kind == "banded":
        (step,) = found
        return f"{shown}: the band from {format_value(step.threshold, amount_kind)} gives {format_value(step.gives, scale.value_kind)}"
    if not found:
        return f"{shown}: no part is above the first threshold, {format_value(scale.thresholds[0], amount_kind)}"
    result_kind = amount_kind if scale.value_kind == "percentage" else "number"
    parts = (
        f"{format_value(s.part, amount_kind)} in the bracket above {format_value(s.threshold, amount_kind)}"
        f" at {format_value(s.rate, scale.value_kind)} = {format_value(s.gives, result_kind)}"
        for s in found
    )
    return f"{shown}: " + ", ".join(parts)
