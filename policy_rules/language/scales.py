"""Dated parameters and scales: a parameter's periods, and the named check of every scale's brackets or bands.

Its place: beside the checker, which calls ``check_scales`` as one of its
named checks and ``periods`` through ``checker.parameter_periods``, the one
reading of a parameter's dates that the compiler, the solver and the trace
share. A value runs until the day before the next value (or ``no value
from``) starts; ``until`` ends it earlier. A scale's value on a date is the
``engine.values.Scale`` of its brackets (or bands) that have both a threshold
and a rate (or amount) on that date, so each threshold and rate has its own
dates and the scale changes whenever one of them does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policy_rules.engine.values import ERROR, MONEY, NUMBER, Scale, Type, format_value
from policy_rules.language import nodes as n

if TYPE_CHECKING:
    from policy_rules.language.checker import PolicyModel

Period = tuple[date, date | None, Any]

#: The kinds a band of a banded scale may give.
BAND_KINDS = frozenset({"money", "number", "whole number", "percentage"})


def dated(values: Sequence[n.ParameterValue], ends: Sequence[n.NoValue] = ()) -> tuple[Period, ...]:
    """Values as (from, until, value) in date order: each runs until the day before the next value or ``no value from`` starts."""
    starts = sorted({v.valid_from for v in values} | {e.valid_from for e in ends})
    found = []
    for v in sorted(values, key=lambda v: v.valid_from):
        until = v.valid_until
        if until is None:
            later = [s for s in starts if s > v.valid_from]
            if later:
                until = later[0] - timedelta(days=1)
        found.append((v.valid_from, until, v.value.value))
    return tuple(found)


def _on(periods: tuple[Period, ...], day: date) -> Any:
    for start, until, value in periods:
        if start <= day and (until is None or day <= until):
            return value
    return None


def scale_type(param: n.ParameterDecl) -> Type:
    """The type of a scale parameter: ``marginal scale`` or ``banded scale``, with the kind of its thresholds and of what it gives."""
    assert isinstance(param.type, n.ScaleType)
    thresholds = [v.value.kind for step in param.steps for v in step.thresholds]
    threshold_kind = "money" if not thresholds or "money" in thresholds else "number"
    if param.type.kind == "marginal":
        return Type("marginal scale", values=(threshold_kind, "percentage"))
    of = param.type.of.kind if param.type.of is not None else "error"
    return Type("banded scale", values=(threshold_kind, of))


def _step_periods(param: n.ParameterDecl, step: n.ScaleStep) -> tuple[tuple[Period, ...], tuple[Period, ...]]:
    return dated(step.thresholds, param.ends), dated(step.rates or step.amounts, param.ends)


def _breaks(param: n.ParameterDecl) -> list[date]:
    """Every date on which a threshold, rate or amount of the scale starts or stops."""
    found: set[date] = set()
    for step in param.steps:
        for periods in _step_periods(param, step):
            for start, until, _value in periods:
                found.add(start)
                if until is not None and until < date.max:
                    found.add(until + timedelta(days=1))
    return sorted(found)


def _in_force(param: n.ParameterDecl, day: date) -> list[tuple[n.ScaleStep, Any, Any]]:
    """Each step of the scale with its threshold and value on ``day`` (None where it has none)."""
    return [(step, _on(thresholds, day), _on(values, day)) for step in param.steps for thresholds, values in (_step_periods(param, step),)]


def periods(param: n.ParameterDecl) -> tuple[Period, ...]:
    """A parameter's values as (from, until, value) in date order; a scale's value is a ``Scale`` for each stretch of dates it is the same."""
    if not isinstance(param.type, n.ScaleType):
        return dated(param.values, param.ends)
    t = scale_type(param)
    kind = "marginal" if t.kind == "marginal scale" else "banded"
    breaks = _breaks(param)
    found: list[list[Any]] = []
    for start, following in itertools.zip_longest(breaks, breaks[1:]):
        steps = [(th, v) for _step, th, v in _in_force(param, start) if th is not None and v is not None]
        if not steps:
            continue
        value = Scale(kind, tuple(Decimal(th) for th, _v in steps), tuple(Decimal(v) for _th, v in steps), t.values[0], t.values[1])
        until = following - timedelta(days=1) if following is not None else None
        if found and found[-1][2] == value and found[-1][1] is not None and found[-1][1] + timedelta(days=1) == start:
            found[-1][1] = until
        else:
            found.append([start, until, value])
    return tuple((start, until, value) for start, until, value in found)


def check_scales(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Each scale has brackets (marginal) or bands (banded), each with a threshold and a rate or amount on every date it has either, thresholds rising."""
    for param in model.parameters.values():
        if not isinstance(param.type, n.ScaleType):
            if param.steps:
                step = param.steps[0]
                advice = f"declare it `parameter {param.name} is a marginal scale` (or `is a banded scale of percentage`) to give it {step.kind}s"
                model.error(step.span, f"parameter `{param.name}` is {Type(param.type.kind).words}, not a scale; {advice}")
            continue
        _check_scale(model, param)


def _check_scale(model: PolicyModel, param: n.ParameterDecl) -> None:
    kind = param.type.kind  # type: ignore[union-attr]
    word = "bracket" if kind == "marginal" else "band"
    for v in param.values:
        model.error(v.span, f"a scale has {word}s, not values; write `{word}` followed by `threshold ... from DATE` and `rate ... from DATE`")
    if not param.steps:
        model.error(param.span, f"scale `{param.name}` has no {word}s; add `{word}` with `threshold £0 from DATE` and `rate 20% from DATE`")
        return
    t = scale_type(param)
    of = t.values[1]
    if kind == "banded" and of not in BAND_KINDS:
        model.error(param.type.span, f"a band gives an amount of money, a number or a percentage, not {Type(of).words}; write `a banded scale of percentage`")
        return
    sound = True
    for step in param.steps:
        sound = _check_step(model, param, step, kind, word, t) and sound
    if sound:
        _check_order(model, param, word)


def _check_step(model: PolicyModel, param: n.ParameterDecl, step: n.ScaleStep, kind: str, word: str, t: Type) -> bool:
    """One bracket or band: the right word, a threshold, a rate or amount, each of the right type; whether it can be read on."""
    sound = True
    if step.kind != word:
        model.error(step.span, f"a {kind} scale has {word}s, not {step.kind}s; write `{word}`")
        sound = False
    of = t.values[1]
    value_word = "rate" if of == "percentage" else "amount"
    wrong, right = (step.amounts, step.rates) if value_word == "rate" else (step.rates, step.amounts)
    for v in wrong:
        example = "rate 20%" if value_word == "rate" else ("amount £25" if of == "money" else "amount 2")
        has = "a rate" if value_word == "rate" else "an amount"
        model.error(v.span, f"this {word} gives {Type(of).words}, so it has {has}; write `{example} from {v.valid_from}`")
        sound = False
    if not step.thresholds:
        model.error(step.span, f"this {word} has no threshold; add `threshold £0 from DATE`, the amount the {word} starts at")
        sound = False
    if not right and not wrong:
        example = "rate 20%" if value_word == "rate" else "amount £25"
        model.error(step.span, f"this {word} has no {value_word}; add `{example} from DATE`")
        sound = False
    for v in step.thresholds:
        if v.value.kind not in ("money", "number", "whole number"):
            model.error(v.value.span, f"a threshold is an amount of money or a number, and `{v.value.text}` is {Type(v.value.kind).words}")
            sound = False
        elif (v.value.kind == "money") != (t.values[0] == "money"):
            advice = f"write `£{v.value.text}`" if v.value.kind != "money" else "write every threshold as money or every one as a number"
            found = f"the threshold `{v.value.text}` is {Type(v.value.kind).words}, but other thresholds of `{param.name}` are money"
            model.error(v.value.span, f"{found}; {advice}")
            sound = False
    for v in right:
        fits = v.value.kind == "percentage" if of == "percentage" else v.value.kind == of or (of == "number" and v.value.kind == "whole number")
        if not fits:
            example = f"{v.value.text}%" if of == "percentage" and v.value.kind in ("number", "whole number") else None
            advice = f"; write `{example}`" if example else ""
            model.error(v.value.span, f"the {value_word} `{v.value.text}` is not {Type(of).words}, what `{param.name}` gives{advice}")
            sound = False
    for values in (step.thresholds, right):
        sound = _check_dates(model, param, values) and sound
    return sound


def _check_dates(model: PolicyModel, param: n.ParameterDecl, values: Sequence[n.ParameterValue]) -> bool:
    """Values of one threshold or rate that end before they start, or that overlap."""
    sound = True
    for v in values:
        if v.valid_until is not None and v.valid_until < v.valid_from:
            model.error(v.span, f"this value ends ({v.valid_until}) before it starts ({v.valid_from})")
            sound = False
    for earlier, later in itertools.pairwise(sorted(values, key=lambda v: v.valid_from)):
        if earlier.valid_from == later.valid_from or (earlier.valid_until is not None and earlier.valid_until >= later.valid_from):
            advice = "end that one with `until` a day before, or leave out its `until`: a value runs until the next one starts"
            model.error(later.span, f"this value of `{param.name}` starts on {later.valid_from}, while the value at {earlier.span} still applies; {advice}")
            sound = False
    return sound


def _check_order(model: PolicyModel, param: n.ParameterDecl, word: str) -> None:
    """On every date the scale changes, each step in force has both its threshold and its value, and the thresholds rise in the order written."""
    reported: set[tuple[int, str]] = set()
    for day in _breaks(param):
        steps = _in_force(param, day)
        below: tuple[n.ScaleStep, Any] | None = None
        for step, threshold, value in steps:
            if (threshold is None) != (value is None):
                has, lacks = ("a threshold", "rate or amount") if value is None else ("a rate or amount", "threshold")
                if (id(step), "lacks") not in reported:
                    reported.add((id(step), "lacks"))
                    model.error(step.span, f"on {day} this {word} has {has} but no {lacks}; give both the same dates, or end both")
                continue
            if threshold is None:
                continue
            if below is not None and threshold <= below[1] and (id(step), "order") not in reported:
                reported.add((id(step), "order"))
                shown = _money_or_number(threshold, param), _money_or_number(below[1], param)
                model.error(
                    step.span,
                    f"on {day} the threshold of this {word}, {shown[0]}, is not above the one before it, {shown[1]} (line {below[0].span.line}); "
                    f"write the {word}s from the lowest threshold up",
                )
            below = (step, threshold)


def _money_or_number(value: Decimal, param: n.ParameterDecl) -> str:
    return format_value(value, scale_type(param).values[0])


def applied_type(scale: Type, amount: Type) -> Type:
    """The type of ``scale applied to amount`` (checked to fit): a marginal scale gives the amount's type, a banded one its bands'."""
    if scale.kind == "marginal scale":
        return MONEY if scale.values[0] == "money" else NUMBER
    return Type(scale.values[1]) if scale.values[1] != "error" else ERROR


def fits_amount(scale: Type, amount: Type) -> bool:
    """Whether an amount of type ``amount`` can be put to a scale whose thresholds are of the kind ``scale`` names."""
    if scale.values[0] == "money":
        return amount == MONEY
    return amount.is_numeric
