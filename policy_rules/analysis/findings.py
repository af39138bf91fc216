"""``policy-rules analyse``: what the rules do for every possible service, found with the symbolic backend.

Its place: it reads a loaded ``Policy``'s lowered form through
``policy_rules.analysis.symbolic`` over a *free world* (every fact free,
lists of up to ``FREE_ITEMS`` items, amounts to the penny, percentages to a
hundredth of a percent, any date of the decision from 1990 to 2100), and
reports each finding located at the rule, part or value it is about, with a
witness: a service (and a date) that shows it, checked with the evaluator.

The findings:

- ``conflict`` (error): two exceptions to the same rule can both apply with
  different outcomes, so some service makes the policy fail with a conflict
  (agreeing grounds, which give the same outcome, are not one);
- ``never_applies``: a rule (or a row of a first-of table) whose condition
  no service meets;
- ``never_changes``: a rule that can apply, yet every service is decided the
  same without it (its own exceptions then take its place);
- ``part_never_matters``: a part of a condition (an operand of ``and``,
  ``or``, ``any of``, ``all of``) without which the condition holds for
  exactly the same services;
- ``parameter_gap``: dates between two periods of a dated parameter that
  none covers (a decision dated then fails); overlaps are ``check`` errors;
- ``parameter_read_outside``: a read of a dated parameter that some service
  reaches on a date after its first value that none of its periods covers
  (in a gap, or after ``no value from``), because no date condition keeps
  the read inside them;
- ``reference_read``: a fact marked ``kept for reference`` that a rule reads.

A parameter read outside its periods fails where the evaluator reaches it.
For a policy with a parameter that has no value on some date, the policy is
encoded so that such a read fails where it is reached, as a conflict is
(``Encoder(dated_reads=True)``), each read through a variable of its own
bound to its meaning; the services considered are those the evaluator
decides without such a failure, rather than those dated where every
parameter has a value. So a date condition that keeps a read inside its
periods matters, and a rule for dates outside them can apply.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import z3

from policy_rules.analysis.symbolic import TODAY_RANGE, Encoder, Names, Outcome, SymList, atoms, free_world, not_equal, preferences, same_result, service_of
from policy_rules.api import Policy
from policy_rules.engine import lowering as ir
from policy_rules.engine.compiler import EvaluationError
from policy_rules.errors import ConflictError, PolicyError, text_lines
from policy_rules.language.nodes import Span


@attrs.frozen
class Witness:
    """A service that shows a finding: its facts (as a facts file writes them), the date, and what the case file should expect."""

    facts: dict[str, Any]
    as_of: date
    expect: dict[str, Any]
    shows: str

    def case(self, name: str) -> dict[str, Any]:
        """The witness as one case of a case file (``docs/case-files.md``)."""
        return {"name": name, "as_of": self.as_of, "facts": self.facts, "expect": self.expect}


@attrs.frozen
class Finding:
    severity: str
    kind: str
    span: Span
    message: str
    witness: Witness | None = None

    def line(self) -> str:
        return f"{self.span}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        witness = None
        if self.witness is not None:
            w = self.witness
            witness = {"as_of": w.as_of.isoformat(), "facts": jsonable(w.facts), "expect": w.expect, "shows": w.shows}
        return {"severity": self.severity, "kind": self.kind, "location": str(self.span), "message": self.message, "witness": witness}


def jsonable(value: Any) -> Any:
    """A witness's facts for JSON: dates as ISO text, the rest as written."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _drop(rule: ir.Rule, label: str) -> ir.Rule:
    """The rule tree without ``label``: its exceptions take its place, as exceptions to the rule it overrode."""
    kept: list[ir.Rule] = []
    for child in rule.exceptions:
        if child.label == label:
            kept.extend(_drop(grandchild, label) for grandchild in child.exceptions)
        else:
            kept.append(_drop(child, label))
    return attrs.evolve(rule, exceptions=tuple(kept))


def _rules(rule: ir.Rule) -> Iterator[ir.Rule]:
    yield rule
    for child in rule.exceptions:
        yield from _rules(child)


def _parts(e: Any) -> Iterator[tuple[Any, Any, bool]]:
    """Each operand of ``and``/``or``/``any of``/``all of`` in an expression, with the value that leaves its whole unchanged and whether it is one."""
    if isinstance(e, ir.Logic) and len(e.operands) > 1:
        for x in e.operands:
            yield x, e.op == "and", True
    if isinstance(e, ir.CountOf) and e.quantifier in ("any", "all") and e.reasons is None and len(e.conditions) > 1:
        for x in e.conditions:
            yield x, e.quantifier == "all", True
    for child in ir.children(e):
        if not isinstance(child, ir.Quantify):
            yield from _parts(child)


#: How many services ``gap_witness`` tries before it gives no witness.
GAP_TRIES = 30

#: The longest one question to the solver may take (milliseconds); past it, nothing is claimed.
CHECK_MS = 20_000

#: The solver's answer when it ran out of time.
UNDECIDED = object()


class Analysis:
    """One policy over one free world: the solver, the terms, and the evaluator to check each witness with."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.lowered = policy._lowered
        self.model = policy.model
        self.names = Names()
        self.world = free_world(self.model, self.names, "w!", decimals=True)
        self.dated = _bounded_parameters(policy._compiled.parameters)
        self.encoder = Encoder(self.lowered, self.world, self.names, dated_reads=self.dated)
        self.result = self.encoder.result()
        _every_decision(self.encoder, self.world)
        self.preferred, implied = preferences(self.world, "analysis")
        #: Every service, those whose decision fails on a parameter without a value included (``reads_outside`` looks at them).
        self.open_solver = z3.Solver()
        self.open_solver.set("timeout", CHECK_MS)
        self.open_solver.add(*self.world.valid, *self.encoder.valid, *implied, *self.bound_reads())
        self.solver = z3.Solver()
        self.solver.set("timeout", CHECK_MS)
        self.solver.add(*self.world.valid, *self.encoder.valid, *implied, *self.bound_reads())
        if self.dated:
            self.solver.add(z3.Not(self.reads_fail(self.result.conflict)))

    def bound_reads(self, start: int = 0, encoder: Encoder | None = None) -> list[Any]:
        """Each parameter read's variable (from the ``start``-th on) bound to its meaning: the date is outside the parameter's periods."""
        return [failed == meaning for failed, meaning, _node in (encoder or self.encoder).outside[start:]]

    def reads_fail(self, failure: Any, only: Any = None) -> Any:
        """Whether a failure (a conflict, or reads out of their dates) is a read's and not a conflict's; with ``only``, those reads' alone."""
        outside = self.encoder.outside
        calm = z3.substitute(_b(failure), *[(failed, z3.BoolVal(False)) for failed, _m, _n in outside]) if outside else _b(failure)
        chosen = failure
        if only is not None and outside:
            chosen = z3.substitute(_b(failure), *[(failed, z3.BoolVal(False)) for failed, _m, _n in outside if not any(failed.eq(x) for x in only)])
        return z3.And(_b(chosen), z3.Not(calm))

    # --- solving ---------------------------------------------------------------------------

    def model_of(self, *constraints: Any, solver: z3.Solver | None = None) -> Any:
        """A service meeting the constraints, with every fact given when there is one (it then shows the finding without unknowns).

        None when there is none; ``UNDECIDED`` when the solver could not tell
        within ``CHECK_MS``: no finding is then claimed either way.
        """
        undecided = False
        solver = solver or self.solver
        for extra in ([self.preferred], []):
            answer = solver.check(*extra, *[_b(c) for c in constraints])
            if answer == z3.sat:
                return solver.model()
            undecided = undecided or answer == z3.unknown
        return UNDECIDED if undecided else None

    def possible(self, *constraints: Any, solver: z3.Solver | None = None) -> bool:
        """Whether some service meets the constraints; when the solver cannot tell, it may."""
        return (solver or self.solver).check(*[_b(c) for c in constraints]) != z3.unsat

    def service(self, m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any], date]:
        """The typed facts of a model (for the evaluator), the same as a facts file writes them, and the date."""
        typed, today = service_of(m, self.world, self.model, self.names)
        return typed, written_service(typed, self.policy), today

    def decide(self, typed: dict[str, Any], today: date) -> Any:
        try:
            return self.policy.decide_in_full(typed, typed.get(self.model.service_name or ""), today)
        except (ConflictError, EvaluationError) as error:
            return error

    def witness(self, m: z3.ModelRef, shows: str) -> Witness:
        typed, written, today = self.service(m)
        decision = self.decide(typed, today)
        expect: dict[str, Any] = {}
        if not isinstance(decision, PolicyError):
            expect = {"outcome": decision.outcome}
            if decision.decided_by:
                expect["decided_by"] = decision.decided_by
        elif isinstance(decision, ConflictError):
            expect = {"decided_by": decision.labels[-1]}
        return Witness(written, today, expect, shows)

    # --- each kind of finding ------------------------------------------------------------------

    def rule_terms(self, label: str, encoder: Encoder | None = None) -> list[tuple[Any, Any]]:
        """(present, ruled) for each time the rule is worked out: once, or once for each possible item."""
        enc = encoder or self.encoder
        out = []
        for (rule, index), ruled in enc.rules.items():
            if rule == label:
                out.append((self.present(index, rule), ruled))
        return out

    def present(self, index: int | None, label: str) -> Any:
        if index is None:
            return True
        decision = self.lowered.decisions[self.model.rules[label].decision.name]
        assert decision.per_item is not None
        items = self.world.facts[decision.per_item[1].name][0]
        return items.length > index if isinstance(items, SymList) and not isinstance(items.length, int) else index < items.length

    def own_holds(self, label: str) -> Any:
        return z3.Or(*[_b(_and(self.present(i, r), h)) for (r, i), h in self.encoder.own.items() if r == label] or [z3.BoolVal(False)])

    def conflicts(self) -> Iterator[Finding]:
        for decision in self.lowered.decisions.values():
            for rule in _rules(decision.root):
                for i, a in enumerate(rule.exceptions):
                    for b in rule.exceptions[i + 1 :]:
                        clash = []
                        for (pa, ra), (_pb, rb) in zip(self.rule_terms(a.label), self.rule_terms(b.label), strict=True):
                            clash.append(_and(pa, ra.applies, rb.applies, not_equal(ra.value, rb.value)))
                        m = self.model_of(_or_all(clash))
                        if m is None or m is UNDECIDED:
                            continue
                        span = b.source.span
                        message = (
                            f"rules {a.label} ({a.source.span.short}) and {b.label} can both apply with different outcomes, "
                            f"and neither is an exception to the other: a service like the witness makes decision {decision.name} fail with a conflict; "
                            "make one an exception to the other"
                        )
                        yield Finding("error", "conflict", span, message, self.witness(m, "the policy fails with a conflict"))

    def unused_rules(self) -> Iterator[Finding]:
        for decision in self.lowered.decisions.values():
            for rule in _rules(decision.root):
                if rule.level == 0 or rule.condition is None:
                    continue
                row = "row" if self.model.rules[rule.label].table else "rule"
                applies = self.own_holds(rule.label)
                m = self.model_of(applies)
                if m is None:
                    yield Finding("warning", "never_applies", rule.source.span, f"{row} {rule.label} can never apply: no service meets its condition")
                    continue
                if m is UNDECIDED:
                    continue
                shows = self.changes(decision.name, rule)
                if shows is None:
                    message = f"{row} {rule.label} never changes the outcome: every service it applies to is decided the same without it"
                    shown = self.witness(m, f"{rule.label} applies and the decision is what it would be without it")
                    yield Finding("warning", "never_changes", rule.source.span, message, shown)

    def changes(self, decision: str, rule: ir.Rule) -> z3.ModelRef | None:
        lowered = self.lowered
        dropped = {**lowered.decisions, decision: attrs.evolve(lowered.decisions[decision], root=_drop(lowered.decisions[decision].root, rule.label))}
        other = Encoder(attrs.evolve(lowered, decisions=dropped), self.world, self.names, dated_reads=self.dated)
        result = other.result()
        return self.model_of(*other.valid, *self.bound_reads(encoder=other), z3.Not(same_result(self.result, result)))

    def idle_parts(self) -> Iterator[Finding]:
        """Parts of conditions without which the condition holds for the same services, and fails for the same ones (a read out of its dates)."""
        seen: set[int] = set()
        encoder = self.encoder
        for (label, index), scope in list(encoder.scopes.items()):
            rule = encoder.rule_nodes[label]
            if rule.condition is None or (label, index) in seen:
                continue
            whole = rule.condition.whole
            start = len(encoder.outside)
            held, failed = encoder.expr(whole, scope)
            runs = [z3.Not(self.reads_fail(failed)), *self.bound_reads(start)] if self.dated else []
            if not self.possible(held, *runs):
                continue
            for part, neutral, _ in _parts(whole):
                if id(part) in seen:
                    continue
                encoder.replace = {id(part): neutral}
                again = len(encoder.outside)
                try:
                    without, failed_without = encoder.expr(whole, scope)
                finally:
                    encoder.replace = {}
                differs = _b(held) != _b(without)
                if self.dated:
                    differs = z3.Or(differs, self.reads_fail(failed_without))
                if self.possible(differs, *runs, *self.bound_reads(again)):
                    continue
                seen.add(id(part))
                text = _text(self.model.sources, part.source.span)
                m = self.model_of(held, *runs)
                m = None if m is UNDECIDED else m
                message = f"`{text}` never matters in the condition of rule {label}: the condition holds for exactly the same services without it"
                yield Finding("warning", "part_never_matters", part.source.span, message, self.witness(m, f"the condition of {label} holds") if m else None)

    def parameter_gaps(self) -> Iterator[Finding]:
        for name, decl in self.model.parameters.items():
            values = sorted(decl.values, key=lambda v: v.valid_from)
            for earlier, later in itertools.pairwise(values):
                if earlier.valid_until is None or earlier.valid_until + timedelta(days=1) >= later.valid_from:
                    continue
                start, end = earlier.valid_until + timedelta(days=1), later.valid_from - timedelta(days=1)
                message = f"parameter {name} has no value from {start} to {end}, between two of its periods: a decision dated then cannot be made"
                yield Finding("warning", "parameter_gap", later.span, message, self.gap_witness(name, start, earlier.valid_until))

    def gap_witness(self, name: str, day: date, before: date) -> Witness | None:
        """A service whose decision dated ``day`` reads the parameter, and so fails: services are tried until one does (``GAP_TRIES``)."""
        flags = [v for label, (v, _g) in self.world.variables.items() if z3.is_bool(v) and not label.endswith("#given")]
        tried: list[Any] = []
        for _ in range(GAP_TRIES):
            m = self.model_of(*tried)
            if m is None or m is UNDECIDED:
                return None
            typed, written, _today = self.service(m)
            try:
                self.policy.decide_in_full(typed, None, day, trace=False)
            except ConflictError:
                pass
            except PolicyError:
                earlier = self.decide(typed, before)
                expect = {"outcome": earlier.outcome} if not isinstance(earlier, PolicyError) else {}
                return Witness(written, day, expect, f"a decision dated {day} fails: {name} has no value (the case expects the outcome of the day before)")
            tried.append(z3.Not(z3.And(*[f == m.eval(f, model_completion=True) for f in flags])) if flags else z3.BoolVal(False))
        return None

    def reads_outside(self) -> Iterator[Finding]:
        """Each read of a parameter that some service reaches on a date after its first value when it has none (a gap, or after ``no value from``).

        Dates before a parameter's first value are left out here: every dated
        parameter has them, and a policy is not read as deciding cases from
        before its values began (a guard against them still matters).
        """
        if not self.dated:
            return
        reads: dict[int, list[Any]] = {}
        nodes: dict[int, ir.Read] = {}
        for failed, _term, node in self.encoder.outside:
            reads.setdefault(id(node), []).append(failed)
            nodes[id(node)] = node
        for key, mine in reads.items():
            node = nodes[key]
            name = node.slot.name
            begun = self.world.today.number >= self.encoder.parameters[name][0][0].toordinal()
            m = self.model_of(self.reads_fail(self.result.conflict, only=mine), begun, solver=self.open_solver)
            if m is None or m is UNDECIDED:
                continue
            _typed, written, today = self.service(m)
            periods = ", ".join(_period_words(start, until) for start, until, _v in self.encoder.parameters[name])
            message = (
                f"`{name}` is read here on dates after its first value when it has none (it has one {periods}), "
                "and no date condition keeps this read inside them: "
                f"a decision dated {today}, like the witness, fails; guard the read with a condition on `today`, or give `{name}` a value for those dates"
            )
            shows = f"a decision dated {today} fails: {name} has no value then"
            yield Finding("warning", "parameter_read_outside", node.source.span, message, Witness(written, today, {}, shows))

    def reference_reads(self) -> Iterator[Finding]:
        reference = {name for name, decl in self.model.facts.items() if decl.reference}
        if not reference:
            return
        reported: set[str] = set()
        for root in _roots(self.lowered):
            for node in ir.walk(root):
                if isinstance(node, ir.Read | ir.Known) and node.slot.kind == "fact" and node.slot.name in reference and node.slot.name not in reported:
                    reported.add(node.slot.name)
                    name = node.slot.name
                    message = f"fact {name} is marked `kept for reference`, yet a rule reads it; remove `kept for reference` from it, or stop reading it"
                    m = self.model_of(self.depends_on(name))
                    m = None if m is UNDECIDED else m
                    yield Finding("warning", "reference_read", node.source.span, message, self.witness(m, f"the decision depends on {name}") if m else None)

    def depends_on(self, fact: str) -> Any:
        """Whether another value of ``fact`` would change this service's decision."""
        value, _given = self.world.facts[fact]
        if isinstance(value, SymList):
            return z3.BoolVal(True)
        pairs = [(x, z3.Const(f"analysis!other {x}", x.sort())) for x in atoms(value)]
        changed = Outcome(*(z3.substitute(x, *pairs) if z3.is_expr(x) else x for x in (self.result.conflict, self.result.outcome, self.result.priority)), [])
        mine = Outcome(self.result.conflict, self.result.outcome, self.result.priority, [])
        return z3.And(*[z3.substitute(v, *pairs) for v in self.world.valid], z3.Not(same_result(mine, changed)))

    def findings(self) -> list[Finding]:
        found = [*self.conflicts(), *self.unused_rules(), *self.idle_parts(), *self.parameter_gaps(), *self.reads_outside(), *self.reference_reads()]
        return sorted(found, key=lambda f: (f.span.path, f.span.line, f.span.column, f.kind))


def _every_decision(encoder: Encoder, world: Any) -> None:
    """Every decision worked out in the encoder, a decision made for each item once for each possible item, so every rule has its terms."""
    for name, decision in encoder.lowered.decisions.items():
        if decision.per_item is None:
            encoder.decision(name, None)
        elif name != encoder.model.element_outcomes:
            items = world.facts[decision.per_item[1].name][0]
            for i, item in enumerate(items.items):
                encoder.decision(name, i, {decision.per_item[0]: (items, item)})


def _bounded_parameters(parameters: Any) -> bool:
    """Whether some parameter has no value on some date a free world may be dated (``TODAY_RANGE``)."""
    low, high = (date.fromordinal(d) for d in TODAY_RANGE)
    for periods in parameters.values():
        day = low
        for start, until, _value in periods:
            if start > day:
                return True
            day = date.max if until is None else max(day, until + timedelta(days=1))
        if day <= high:
            return True
    return False


def _period_words(start: date, until: date | None) -> str:
    return f"from {start}" + (f" until {until}" if until is not None else "")


def analyse(policy: Policy) -> list[Finding]:
    """Every finding of the analysis of a loaded policy, in the order of the rule files."""
    return Analysis(policy).findings()


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _and(*xs: Any) -> Any:
    if any(x is False for x in xs):
        return False
    parts = [_b(x) for x in xs if x is not True]
    return z3.And(*parts) if parts else True


def _or_all(xs: list[Any]) -> Any:
    return z3.Or(*[_b(x) for x in xs]) if xs else z3.BoolVal(False)


def _text(sources: dict[str, str], span: Span) -> str:
    lines = text_lines(sources.get(span.path, ""))
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :], *lines[span.line : span.end_line - 1], lines[span.end_line - 1][: span.end_column - 1]]
    return " ".join(p.strip() for p in parts if p.strip())


def written_service(typed: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A witness's facts as a facts file writes them; a service name or item name no rule reads, left empty by the solver, is filled in for the reader."""
    model = policy.model
    written = {name: as_written(value, model.fact_types[name].kind, model, name) for name, value in typed.items()}
    read = _reads(policy._lowered)
    service = model.service_name
    if service and written.get(service) == "" and ("fact", service) not in read:
        written[service] = "witness"
    if ("field", "name") not in read:
        for value in written.values():
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item.get("name") == "":
                        item["name"] = f"item {i + 1}"
    return written


def _roots(lowered: ir.Lowered) -> Iterator[Any]:
    """Every expression of a policy: defined values, then each rule's conclusion and condition."""
    for d in lowered.defines.values():
        yield d.body
    for decision in lowered.decisions.values():
        for rule in _rules(decision.root):
            yield rule.conclusion
            if rule.condition is not None:
                yield rule.condition.whole


def _reads(lowered: ir.Lowered) -> set[tuple[str, str]]:
    """Every (kind, name) a rule, table row or defined value reads."""
    return {(node.slot.kind, node.slot.name) for root in _roots(lowered) for node in ir.walk(root) if isinstance(node, ir.Read | ir.Known)}


def shown_value(value: Any) -> str:
    """A written fact value on one line: yes/no, numbers and dates as written, lists of records in braces."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + "; ".join("{" + ", ".join(f"{k}: {shown_value(v)}" for k, v in item.items()) + "}" for item in value) + "]"
    return str(value)


def as_written(value: Any, kind: Any, model: Any, name: str) -> Any:
    """A typed value as a facts file writes it: yes/no, 1200000 or 1200000.5, 5%, a date, a list of records."""
    if isinstance(value, tuple):
        record = model.records.get(model.fact_types[name].record or "")
        types = {f.name: f.type.kind for f in record.fields} if record else {}
        return [{k: as_written(v, types.get(k), model, name) for k, v in item.items()} for item in value]
    if isinstance(value, Decimal):
        if kind == "percentage":
            return f"{_plain(value * 100)}%"
        return int(value) if value == value.to_integral_value() else _plain(value)
    return value


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral_value() else format(value, ".0f")
