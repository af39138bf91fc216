"""Explained calculations: the formula of a value as written, with the value of every name it reads, and its result.

A valued decision or a defined amount is shown in the trace as
``grant = the smaller of (works_total £12,000 - contribution £2,500) and
maximum_grant £30,000 = £9,500``: its rule's formula (or the define's), each
fact, defined value, parameter and decision it names followed by its value,
then the result. Values worked out from other values are explained by their
own event, so the explanation nests as the values do.

Nothing is evaluated here: the values come from the events of the trace
itself (the facts given, the values worked out, the decisions made) and the
parameters on the decision's date, so both ways of tracing (the generated
traced code and the reference) explain a calculation in the same words, and
the meaning of every form stays in the code generator alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from policy_rules.engine import trace as t
from policy_rules.engine.scales import explained
from policy_rules.engine.values import ERROR, Scale, format_value
from policy_rules.errors import text_lines
from policy_rules.language import nodes as n
from policy_rules.language.checker import SCALE_KINDS, PolicyModel

_SPACES = re.compile(r"\s+")
#: Kinds whose values are worked out and so explained as a calculation.
CALCULATED = frozenset({"money", "number", "whole number", "percentage", "date"})


def _names(e: object) -> list[n.Name]:
    """Every name in an expression, in no particular order."""
    found: list[n.Name] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, n.Name):
            found.append(x)
            continue
        if not attrs.has(type(x)):
            continue
        for field in attrs.fields(type(x)):
            if field.name == "span":
                continue
            value = getattr(x, field.name)
            stack.extend(value if isinstance(value, tuple) else (value,))
    return found


def formula(model: PolicyModel, node: Any, shown: Mapping[str, str]) -> str:
    """The text of expression ``node`` on one line, each name that ``shown`` gives a value for followed by that value."""
    span = node.span
    lines = text_lines(model.sources.get(span.path, ""))
    if not 1 <= span.line <= span.end_line <= len(lines):
        return ""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    text = "\n".join(lines)

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    begin, end = offset(span.line, span.column), offset(span.end_line, span.end_column)
    inserts = []
    for name in _names(node):
        ref = model.refs.get(id(name))
        if ref is None or ref.kind not in ("fact", "define", "parameter", "decision") or name.name not in shown:
            continue
        if model.name_types.get(name.name) is not None and model.name_types[name.name].kind in ("list", "reasons", *SCALE_KINDS):
            continue
        inserts.append((offset(name.span.end_line, name.span.end_column), " " + shown[name.name]))
    pieces, at = [], begin
    for where, extra in sorted(inserts):
        pieces.extend((text[at:where], extra))
        at = where
    pieces.append(text[at:end])
    return _SPACES.sub(" ", "".join(pieces)).strip()


def with_calculations(model: PolicyModel, parameters: Mapping[str, Any], events: tuple[t.Event, ...], as_of: date) -> tuple[t.Event, ...]:
    """The trace with each valued decision and defined amount given its calculation."""
    valued = any(isinstance(e, t.DecisionMade) and e.item is None and e.decision in model.decisions and model.decisions[e.decision].value_type for e in events)
    if not valued and not any(isinstance(e, t.ValueWorkedOut) and model.name_types.get(e.name, ERROR).kind in CALCULATED for e in events):
        return events
    shown: dict[str, str] = {}
    raw: dict[str, Any] = {}
    for event in events:
        if isinstance(event, t.FactsGiven):
            shown.update((r.name, r.shown) for r in event.given)
            raw.update((r.name, r.value) for r in event.given)
        elif isinstance(event, t.ValueWorkedOut):
            shown[event.name] = event.shown
            raw[event.name] = event.value
        elif isinstance(event, t.DecisionMade) and event.item is None:
            shown[event.decision] = event.value
    for name, periods in parameters.items():
        for start, until, value in periods:
            if start <= as_of and (until is None or as_of <= until):
                shown[name] = format_value(value, model.name_types[name].kind)
                raw[name] = value
    out: list[t.Event] = []
    for event in events:
        if isinstance(event, t.ValueWorkedOut):
            kind = model.name_types.get(event.name)
            body = model.defines[event.name].body
            if kind is not None and kind.kind in CALCULATED and not isinstance(body, n.ReasonsSet):
                read = frozenset(r.name for r in event.condition.reads)
                event = event._replace(calculation=f"{event.name} = {formula(model, body, shown)} = {event.shown}{_scales(body, raw, read)}")
        elif isinstance(event, t.DecisionMade) and event.item is None and event.decided_by is not None:
            decision = model.decisions.get(event.decision)
            if decision is not None and decision.value_type is not None and event.value != "undetermined":
                rule = model.rules[event.decided_by]
                written = formula(model, rule.conclusion, shown)
                event = event._replace(calculation=f"{event.decision} = {written} = {event.value}{_scales(rule.conclusion, raw)}")
        out.append(event)
    return tuple(out)


def _scales_in(e: object, read: frozenset[str] | None) -> Iterator[n.ScaleApplied]:
    """The scales an expression applies, in the order written: those whose parameter was read (``read``), else those outside an ``if``'s branches."""
    if isinstance(e, n.ScaleApplied) and (read is None or e.scale.name in read):
        yield e
    if not attrs.has(type(e)):
        return
    for field in attrs.fields(type(e)):
        if field.name == "span" or (read is None and isinstance(e, n.Conditional) and field.name in ("then", "otherwise")):
            continue
        value = getattr(e, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            yield from _scales_in(child, read)


def _amount(e: n.Expr, raw: Mapping[str, Any]) -> Decimal | None:
    """The value of a scale's amount when it is a literal or a name the trace gives a value for (from its JSON form, which keeps every digit an amount has)."""
    if isinstance(e, n.Literal) and isinstance(e.value, Decimal):
        return e.value
    value = raw.get(e.name) if isinstance(e, n.Name) else None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(repr(value))
    return None


def _scales(body: object, raw: Mapping[str, Any], read: frozenset[str] | None = None) -> str:
    """For each scale the formula applied: the part of the amount in each bracket with its rate, or the band reached (``; income_tax on £20,000: ...``)."""
    found = []
    for applied in _scales_in(body, read):
        scale, amount = raw.get(applied.scale.name), _amount(applied.amount, raw)
        if isinstance(scale, Scale) and amount is not None:
            found.append(explained(applied.scale.name, scale, amount))
    return "".join(f"; {text}" for text in found)
