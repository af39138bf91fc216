"""The evaluator: default logic over three-valued facts, the trace, and the facts needed.

Its place: the route users take whenever the generated two-valued and traced
code cannot decide alone, that is every decision with a missing fact (the
outcome may be undetermined, and the needed facts and their questions are
worked out here), a conflict between rules, or an evaluation error such as a
parameter with no value on the date. ``engine.decider.Decider.decide_in_full``
calls it; the tests also use it as the reference the generated modes are
compared with, but it is not only an oracle.

One evaluation of a service runs the policy's three-valued functions (written
by ``codegen.ThreeValued``, assembled by ``compiler``) in an ``Env``. A
decision is worked out from its rule tree with Catala's default logic: the
exceptions to a rule are tried first; if exactly one applies it wins, if two
apply that is a conflict, and only if none applies does the rule's own
condition decide. Unknown facts make conditions unknown (Kleene logic).

Whether the known facts settle the decision, and which missing facts matter,
is worked out exactly by a search over the missing facts (see
``docs/unknown-facts.md``): the search branches on a missing yes/no or
listed-value fact only when three-valued evaluation says the result is still
open, always on the first such fact in declaration order, and shares equal
sub-results, which builds the reduced ordered decision diagram of the
decision as a function of the missing facts. A missing fact is needed exactly
when it labels a node of that diagram.

That the diagram is canonical rests on one property of the evaluation:
knowing more never makes it read more (``and``/``or`` and the quantifiers stop
once settled, an exception that applies hides the rule's own condition, a
membership test reads its options even when its operand is unknown). The same
property lets the search work out the sub-diagram below a path once for each
set of assumed values the evaluation looked up.

Tests left unknown by missing numbers, money, dates or text are bounds (one
missing fact compared with a known value), answered by the fact itself taking
one value in each stretch between the values it is compared with, or atoms
(anything else), answered as independent yes/no questions.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs

from policy_rules.engine import trace as t
from policy_rules.engine.compiler import CompiledDecision, CompiledPolicy, CompiledRule, EvaluationError
from policy_rules.errors import ConflictError, text_lines
from policy_rules.values.types import UNKNOWN, format_value, json_value

#: The search for needed facts stops after this many evaluations of one service
#: and then reports every missing fact it read (``NeededFacts.exact`` is false).
SEARCH_LIMIT = 20_000

#: For services with long lists, the search may look at this many list items in
#: all (evaluations times items), but always makes ``SEARCH_MIN_EVALUATIONS``.
SEARCH_ITEM_BUDGET = 60_000
SEARCH_MIN_EVALUATIONS = 10

UNDETERMINED = "undetermined"

_OPS = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class _Conflict(Exception):
    def __init__(self, decision: str, rules: tuple[CompiledRule, ...], item: str | None) -> None:
        super().__init__(decision)
        self.decision = decision
        self.rules = rules
        self.item = item


@attrs.frozen
class _Memo:
    value: Any
    branchy: bool
    raw: tuple[str, ...]
    looked: tuple[tuple[tuple, Any], ...]


class Env:
    """The state of one evaluation: the facts, what was assumed, what was read."""

    __slots__ = (
        "as_of",
        "assume",
        "atom_facts",
        "branch_reads",
        "compiled",
        "constants",
        "facts",
        "items",
        "looked_up",
        "memo",
        "outcome_facts",
        "outcome_looked",
        "raw",
        "read_cache",
        "reads",
        "service",
        "tracing",
        "unknown_vars",
        "value_facts",
        "value_looked",
        "worked_out",
    )

    def __init__(
        self,
        compiled: CompiledPolicy,
        facts: Mapping[str, Any],
        as_of: date,
        assume: Mapping[tuple, Any] | None = None,
        tracing: bool = False,
        service: str | None = None,
    ) -> None:
        self.compiled = compiled
        self.facts = facts
        self.as_of = as_of
        self.assume = assume or {}
        self.items: dict[str, tuple[str, int, Mapping[str, Any]]] = {}
        self.memo: dict[tuple[str, Any], _Memo] = {}
        self.branch_reads = 0
        self.raw: list[str] = []
        self.looked_up: list[tuple[tuple, Any]] = []
        self.unknown_vars: set[tuple] = set()
        self.value_facts: list[str] = []
        self.value_looked: list[tuple[tuple, Any]] = []
        #: The same, for the outcome alone (when it is a valued decision): the facts the decision needs, apart from the results'.
        self.outcome_facts: list[str] = []
        self.outcome_looked: list[tuple[tuple, Any]] = []
        self.atom_facts: dict[tuple, tuple[str, ...]] = {}
        self.constants: dict[str, set[Any]] = {}
        self.tracing = tracing
        self.reads: list[t.Read] | None = None
        self.worked_out: list[t.ValueWorkedOut] = []
        self.read_cache: dict[tuple[str, str], t.Read] = {}
        self.service = service

    # --- reading values ----------------------------------------------------------

    def read(self, kind: str, name: str, value: Any, shown_kind: str | None = None) -> None:
        assert self.reads is not None
        self.reads.append(self.read_of(kind, name, value, shown_kind))

    def read_of(self, kind: str, name: str, value: Any, shown_kind: str | None = None) -> t.Read:
        """The trace's record of a value read; one per name, as a value does not change within an evaluation."""
        found = self.read_cache.get((kind, name))
        if found is None or found.known != (value is not UNKNOWN):
            if shown_kind is None and kind == "fact":
                shown_kind = self.compiled.model.fact_types[name].kind
            found = t.Read(kind, name, json_value(value), format_value(value, shown_kind), value is not UNKNOWN)
            self.read_cache[(kind, name)] = found
        return found

    def fact(self, name: str, branchable: bool) -> Any:
        """The value of a fact, or what a missing one is taken to be (see ``missing_fact``); recorded when the trace reads."""
        v = self.facts.get(name, UNKNOWN)
        if v is UNKNOWN:
            v = self.missing_fact(name, branchable)
        if self.reads is not None:
            self.read("fact", name, v)
        return v

    def field(self, collection: str, index: int, record: Mapping[str, Any], name: str, branchable: bool) -> Any:
        """The value of a field of a list item, as ``fact`` gives a fact's."""
        v = record.get(name, UNKNOWN)
        if v is UNKNOWN:
            v = self.missing_field(collection, index, name, branchable)
        if self.reads is not None:
            self.read("field", f"{collection}[{index}].{name}", v)
        return v

    def missing_fact(self, name: str, branchable: bool) -> Any:
        if not branchable:
            self.raw.append(name)
            return UNKNOWN
        return self._variable(("f", name))

    def missing_field(self, collection: str, index: int, field: str, branchable: bool) -> Any:
        if not branchable:
            self.raw.append(f"{collection}[{index}].{field}")
            return UNKNOWN
        return self._variable(("i", collection, index, field))

    def _variable(self, var: tuple) -> Any:
        """A variable of the search: its assumed value (noted as looked up), or unknown."""
        v = self.assume.get(var, UNKNOWN)
        if v is UNKNOWN:
            self.unknown_vars.add(var)
            self.branch_reads += 1
        else:
            self.looked_up.append((var, v))
        return v

    def mark(self) -> tuple[int, int, int]:
        """Where the evaluation stands, taken before a leaf test and given back to ``atom``."""
        return self.branch_reads, len(self.raw), len(self.looked_up)

    def atom(self, number: int, mark: tuple[int, int, int], bound: tuple[str, str, Any] | None = None) -> Any:
        """A leaf test left unknown: an atom when only unenumerable facts made it so.

        The atom is named by the leaf, the list items being looked at and the
        assumed values the test read, so that ``count > staff`` with one item
        counted and with none are two questions, not one.

        A bound on one missing fact (``cost is at most budget``, budget known)
        is not an atom: it is answered by the fact itself, a variable ``("v",
        fact)`` whose values are one in each stretch between the constants
        the fact is compared with, so that bounds on the same fact answer
        together (see ``search``).
        """
        branch_reads, raw_start, looked_start = mark
        if self.branch_reads != branch_reads:
            return UNKNOWN
        if bound is not None:
            fact, op, constant = bound
            self.constants.setdefault(fact, set()).add(constant)
            var = ("v", fact)
            self.atom_facts.setdefault(var, (fact,))
            value = self._variable(var)
            return value if value is UNKNOWN else _OPS[op](value, constant)
        looked = tuple(sorted(set(self.looked_up[looked_start:]), key=repr))
        key = ("a", number, tuple(sorted((k, v[1]) for k, v in self.items.items())), looked)
        if key not in self.atom_facts:
            self.atom_facts[key] = tuple(dict.fromkeys(self.raw[raw_start:]))
        return self._variable(key)

    def _remember(self, key: tuple[str, Any], compute: Any) -> Any:
        memo = self.memo.get(key)
        if memo is not None:
            if memo.branchy:
                self.branch_reads += 1
            self.raw.extend(memo.raw)
            self.looked_up.extend(memo.looked)
            return memo.value
        branch_reads, raw_start, looked_start = self.branch_reads, len(self.raw), len(self.looked_up)
        value = compute()
        self.memo[key] = _Memo(value, self.branch_reads != branch_reads, tuple(self.raw[raw_start:]), tuple(self.looked_up[looked_start:]))
        return value

    def defined(self, name: str) -> Any:
        key = ("d", name)
        outer = self.reads
        fresh = key not in self.memo
        if fresh and self.tracing:
            self.reads = []
            try:
                value = self._remember(key, lambda: self.compiled.defines[name].fn(self))
            finally:
                inner, self.reads = self.reads, outer
            self._worked_out(name, value, inner or [])
        else:
            value = self._remember(key, lambda: self.compiled.defines[name].fn(self))
        if self.reads is not None:
            self.read("defined", name, value, _kind_of(self.compiled, name))
        return value

    def _worked_out(self, name: str, value: Any, reads: list[t.Read]) -> None:
        d = self.compiled.defines[name]
        node = d.node
        self.worked_out.append(
            t.ValueWorkedOut(
                name=name,
                value=json_value(value),
                shown=format_value(value, _kind_of(self.compiled, name)),
                location=node.span.short,
                citations=_citations(self.compiled, node.citations),
                because=node.because,
                condition=t.Condition(_source_text(self.compiled, node.body), _truth(value), tuple(_unique_reads(reads))),
            )
        )

    def parameter(self, name: str) -> Any:
        for start, until, value in self.compiled.parameters[name]:
            if start <= self.as_of and (until is None or self.as_of <= until):
                if self.reads is not None:
                    self.read("parameter", name, value, self.compiled.model.name_types[name].kind)
                return value
        message = f"parameter `{name}` has no value on {self.as_of.isoformat()}; add a `value ... from` that covers that date"
        raise EvaluationError(message, str(self.compiled.model.parameters[name].span))

    def decision(self, name: str) -> Any:
        value = self._remember(("c", name), lambda: self._decide(self.compiled.decisions[name]))
        if self.reads is not None:
            self.read("decision", name, value, _kind_of(self.compiled, name))
        return value

    def item_decision(self, name: str, index: int) -> Any:
        """A decision made for each item of a list, for the item at ``index`` (``part.part_cost``): made once for each item, read as a decision."""
        decision = self.compiled.decisions[name]
        value = element_outcome(self, decision, index)
        if self.reads is not None:
            self.read("decision", f"{decision.collection}[{index}].{name}", value, _kind_of(self.compiled, name))
        return value

    def value_of(self, name: str) -> Any:
        """A value the decision reports (the outcome, or one of the header's ``results``): a decision or a defined value.

        When it is unknown, the missing facts read on the way that no test
        answered (an amount worked out from a missing amount) are kept in
        ``value_facts``: the value is worked out from them, so they are needed.
        """
        start, looked = len(self.raw), len(self.looked_up)
        value = self.defined(name) if name in self.compiled.model.defines else self.decision(name)
        if value is UNKNOWN:
            self.value_facts.extend(self.raw[start:])
            # The assumed values it was worked out under: under others it may be another unknown amount (``part.cost * 120%``, not ``part.cost``).
            self.value_looked.extend(self.looked_up[looked:])
            if name == self.compiled.model.outcome:
                self.outcome_facts.extend(self.raw[start:])
                self.outcome_looked.extend(self.looked_up[looked:])
        return value

    def _decide(self, decision: CompiledDecision) -> Any:
        outer = self.reads
        self.reads = None
        try:
            _kind, value = self.rule(decision.root)
        finally:
            self.reads = outer
        return value

    # --- default logic -------------------------------------------------------------

    def rule(self, rule: CompiledRule) -> tuple[str, Any]:
        """("v", value): applies; ("e", None): does not; ("m", value): may apply."""
        applied: list[tuple[CompiledRule, Any]] = []
        maybes: list[tuple[CompiledRule, Any]] = []
        for child in rule.children:
            kind, value = self.rule(child)
            if kind == "v":
                applied.append((child, value))
            elif kind == "m":
                maybes.append((child, value))
        if _disagree(applied):
            raise self.conflict(rule, applied)
        if applied:
            return ("v", _agreed(applied, maybes))
        return _with_maybes(self.own(rule), maybes)

    def conflict(self, rule: CompiledRule, applied: list[tuple[CompiledRule, Any]]) -> _Conflict:
        """Exceptions to ``rule`` that apply give different outcomes: name the rules whose conclusions those are, and the list item.

        An exception may apply through an exception of its own; the rule named
        is the one whose conclusion applies, not the exception whose own
        condition may be false.
        """
        item = None
        if self.items:
            collection, index, _record = next(iter(self.items.values()))
            item = f"{collection}[{index}]"
        return _Conflict(rule.decision, tuple(self._concluding(r) for r, _ in applied), item)

    def _concluding(self, rule: CompiledRule) -> CompiledRule:
        """The rule of ``rule``'s tree whose conclusion ``rule`` gives: the first exception that applies, followed down."""
        for child in rule.children:
            if self.rule(child)[0] == "v":
                return self._concluding(child)
        return rule

    def decider(self, rule: CompiledRule) -> str | None:
        """The label of the rule whose conclusion a settled rule gives (the exception that applies, or itself)."""
        for child in rule.children:
            if self.rule(child)[0] == "v":
                return self.decider(child)
        return rule.label

    def own(self, rule: CompiledRule) -> tuple[str, Any]:
        if rule.condition is not None:
            holds = rule.condition(self)
            if holds is False:
                return ("e", None)
            return ("v" if holds is True else "m", rule.conclusion(self))
        return ("v", rule.conclusion(self))


def _with_maybes(own: tuple[str, Any], maybes: list[tuple[CompiledRule, Any]]) -> tuple[str, Any]:
    """A rule's result when no exception surely applies but some may.

    It surely applies if its own condition holds, else it may; its value is
    known only when the one exception that may apply would give the same.
    """
    if not maybes:
        return own
    values = {v for _, v in maybes}
    if own[0] != "e":
        values.add(own[1])
    # Exceptions that may apply give the same value as the rule (or as each other): whichever applies, that is the value.
    single = next(iter(values)) if len(values) == 1 else UNKNOWN
    return ("v" if own[0] == "v" else "m", single)


def _disagree(applied: list[tuple[CompiledRule, Any]]) -> bool:
    """Whether exceptions that surely apply give different known values: a conflict. Agreeing grounds are not one."""
    values = {v for _, v in applied if v is not UNKNOWN}
    return len(values) > 1


def _agreed(applied: list[tuple[CompiledRule, Any]], maybes: list[tuple[CompiledRule, Any]]) -> Any:
    """The value the exceptions that apply agree on; unknown when one of them, or one that may apply, could give another."""
    values = {v for _, v in applied} | {v for _, v in maybes}
    return next(iter(values)) if len(values) == 1 else UNKNOWN


def decision_shown(compiled: CompiledPolicy, name: str, value: Any) -> str:
    """A decision's value as the trace shows it: its outcome, a valued decision's value as an officer reads it (£9,500), or ``undetermined``."""
    if value is UNKNOWN:
        return UNDETERMINED
    if type(value) is str:
        return value
    return format_value(value, _kind_of(compiled, name))


def _kind_of(compiled: CompiledPolicy, name: str) -> str | None:
    t_ = compiled.model.name_types.get(name)
    return t_.kind if t_ else None


def _truth(value: Any) -> str:
    if value is UNKNOWN:
        return "unknown"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "value"


def _unique_reads(reads: list[t.Read]) -> list[t.Read]:
    seen: dict[str, t.Read] = {}
    for r in reads:
        seen.setdefault(r.name, r)
    return list(seen.values())


def _source_text(compiled: CompiledPolicy, node: Any) -> str:
    """The text of a node as written (on one line), kept once per policy."""
    key = ("text", node.span)
    found = compiled.shown.get(key)
    if found is None:
        found = compiled.shown[key] = _read_source_text(compiled, node.span)
    return found


def _read_source_text(compiled: CompiledPolicy, span: Any) -> str:
    # The lines of each file are split once per policy: splitting the whole file for every
    # span made loading a large policy quadratic in its size.
    key = ("lines", span.path)
    lines = compiled.shown.get(key)
    if lines is None:
        lines = compiled.shown[key] = text_lines(compiled.model.sources.get(span.path, ""))
    if not 1 <= span.line <= len(lines):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :]]
    parts.extend(lines[span.line : span.end_line - 1])
    parts.append(lines[span.end_line - 1][: span.end_column - 1])
    return " ".join(p.strip() for p in parts if p.strip())


def _citations(compiled: CompiledPolicy, citations: Any) -> tuple[t.Citation, ...]:
    key = ("cites", citations)
    found = compiled.shown.get(key)
    if found is None:
        found = compiled.shown[key] = _make_citations(compiled, citations)
    return found


def _make_citations(compiled: CompiledPolicy, citations: Any) -> tuple[t.Citation, ...]:
    docs = compiled.model.documents
    return tuple(t.Citation(c.document, docs[c.document].title if c.document in docs else c.document, c.section, c.paragraph) for c in citations)


# --- the result of one service ---------------------------------------------------------


@attrs.frozen
class Result:
    """The decision's values under some facts: a terminal of the search."""

    outcome: Any
    priority: Any
    elements: tuple[Any, ...]
    conflict: tuple[str, tuple[str, ...], tuple[str, ...], str | None] | None = None
    #: The values of the header's ``results``, in its order.
    values: tuple[Any, ...] = ()


def evaluate_once(
    compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, assume: Mapping[tuple, Any] | None = None, service: str | None = None
) -> tuple[Result, Env]:
    """One three-valued evaluation of every decision the policy reports."""
    env = Env(compiled, facts, as_of, assume, service=service)
    return _results(env), env


def _results(env: Env) -> Result:
    compiled = env.compiled
    model = compiled.model
    try:
        outcome = env.value_of(model.outcome) if model.outcome else UNKNOWN
        priority = env.decision(model.priority) if model.priority else None
        elements: tuple[Any, ...] = ()
        if model.element_outcomes:
            per_item = compiled.decisions[model.element_outcomes]
            elements = tuple(element_outcome(env, per_item, i) for i in range(_item_count(env, per_item)))
        values = tuple(env.value_of(name) for name in model.results)
    except _Conflict as conflict:
        rules = conflict.rules
        return Result(UNKNOWN, UNKNOWN, (), (conflict.decision, tuple(r.label for r in rules), tuple(str(r.node.span) for r in rules), conflict.item))
    return Result(outcome, priority, elements, None, values)


def _item_count(env: Env, decision: CompiledDecision) -> int:
    items = env.facts.get(decision.collection or "", UNKNOWN)
    return 0 if items is UNKNOWN else len(items)


def element_outcome(env: Env, decision: CompiledDecision, index: int) -> Any:
    record = env.facts[decision.collection or ""][index]

    def compute() -> Any:
        assert decision.item is not None and decision.collection is not None
        saved = dict(env.items)
        # Only its own item is in scope, wherever it is first read from: its atoms are named the same way every time.
        env.items.clear()
        env.items[decision.item] = (decision.collection, index, record)
        try:
            return env._decide(decision)
        finally:
            env.items.clear()
            env.items.update(saved)

    return env._remember(("c", f"{decision.name}[{index}]"), compute)


def is_open(result: Result) -> bool:
    return result.conflict is None and (
        result.outcome is UNKNOWN or result.priority is UNKNOWN or any(e is UNKNOWN for e in result.elements) or any(v is UNKNOWN for v in result.values)
    )


# --- the search for needed facts ---------------------------------------------------------


@attrs.frozen
class Search:
    """What the search found: the possible results and the missing facts that matter."""

    results: frozenset[Result]
    needed_vars: tuple[tuple, ...]
    atom_facts: dict[tuple, tuple[str, ...]]
    exact: bool
    #: Those of ``needed_vars`` that could change the outcome, the priority or an element outcome (the rest only a result);
    #: ``None`` when that is not told apart (all of them then count as needed by the decision).
    decision_vars: tuple[tuple, ...] | None = None


class _Diagram:
    def __init__(self) -> None:
        self.unique: dict[tuple, int] = {}
        self.nodes: list[tuple] = []

    def make(self, key: tuple) -> int:
        found = self.unique.get(key)
        if found is None:
            found = len(self.nodes)
            self.unique[key] = found
            self.nodes.append(key)
        return found


def var_order(compiled: CompiledPolicy, var: tuple) -> tuple:
    """The fixed order of the search's variables: facts as declared, list items by index
    and field, then atoms by leaf (inner leaves first), items and the values they read,
    then the missing facts that bounds ask about, as declared."""
    if var[0] == "f":
        return (0, compiled.fact_order[var[1]], -1, 0, "")
    if var[0] == "i":
        record = compiled.model.fact_types[var[1]].record or ""
        return (0, compiled.fact_order[var[1]], var[2], compiled.field_order.get((record, var[3]), 0), "")
    if var[0] == "v":
        return (2, compiled.fact_order[var[1]], -1, 0, "")
    return (1, var[1], var[2], 0, repr(var[3]))


def var_domain(compiled: CompiledPolicy, var: tuple) -> tuple[Any, ...]:
    model = compiled.model
    if var[0] == "f":
        ft = model.fact_types[var[1]]
    elif var[0] == "i":
        ft = compiled.field_types[(model.fact_types[var[1]].record or "", var[3])]
    else:
        return (True, False)
    return ft.values if ft.kind == "one of" else (True, False)


#: Paths of the search longer than this (missing facts assumed on one path) stop
#: there, as at ``SEARCH_LIMIT``: the needed facts are then not exact.
MAX_SEARCH_DEPTH = 200

#: With more missing yes/no or listed-value facts than this read at once, the
#: search is not tried: the needed facts are every one of them, not exact.
MAX_SEARCH_VARIABLES = 24


#: How many times the search starts again with more values for a bounded fact.
MAX_REFINEMENTS = 4


#: An exact answer for a service beyond the search's budget: ``(compiled, facts, as_of, service, first)`` to a ``Search``, or None when it
#: cannot give one. The engine is given it (the policy's loader wires in the symbolic backend of ``policy_rules.analysis``); without one
#: such a service's needed facts are those three-valued evaluation read, marked as possibly more than needed.
ExactSearch = Callable[[CompiledPolicy, Mapping[str, Any], date, "str | None", "Result"], "Search | None"]


def search(
    compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, first: Result, first_env: Env, service: str | None, exact_search: ExactSearch | None = None
) -> Search:
    """Branch on the missing facts until every path settles; see the module docstring.

    An evaluation depends only on the assumed values it looked up, and knowing
    more never makes an evaluation look up more, so the whole sub-diagram
    below a path is a function of those looked-up values: it is worked out
    once for each and shared (``cache``).

    A missing fact that bounds compare with known values takes one value in
    each stretch between those values (``points``). A bound met for the first
    time deeper in the search can bring a new value to compare with; then the
    search starts again with the finer stretches, so that in the diagram
    returned every bounded fact has one fixed set of values.
    """
    if len(first_env.unknown_vars) > MAX_SEARCH_VARIABLES:
        exact_answer = exact_search(compiled, facts, as_of, service, first) if exact_search is not None else None
        if exact_answer is not None:
            return exact_answer
        # Too many open questions to search through in time (a long list of items
        # with missing fields): report what three-valued evaluation settles, and
        # every missing fact it read, and say that the list may be longer than needed.
        needed_vars = tuple(sorted(first_env.unknown_vars, key=lambda v: var_order(compiled, v)))
        return Search(frozenset({first}), needed_vars, dict(first_env.atom_facts), False)
    constants: dict[str, set[Any]] = {f: set(c) for f, c in first_env.constants.items()}
    evaluations = 0
    exact = False
    for _attempt in range(MAX_REFINEMENTS):
        run = _Run(compiled, facts, as_of, service, first_env, constants, evaluations)
        root = run.explore({}, first, first_env)
        evaluations = run.evaluations
        diagram = run.diagram
        if run.stopped or all(found <= constants.get(fact, set()) for fact, found in run.seen.items()):
            exact = not run.stopped
            break
        for fact, found in run.seen.items():
            constants.setdefault(fact, set()).update(found)
    if not exact and exact_search is not None:
        exact_answer = exact_search(compiled, facts, as_of, service, first)
        if exact_answer is not None:
            return exact_answer
    needed: set[tuple] = set()
    results: set[Result] = set()
    if not exact and not run.stopped:
        # Still finding new values to compare with: the last pass may have missed a
        # stretch, so nothing is claimed settled and every fact read is listed.
        results.add(Result(UNKNOWN, UNKNOWN, ()))
        needed.update(first_env.unknown_vars)
    visited: set[int] = set()
    stack = [root]
    while stack:
        node_id = stack.pop()
        if node_id in visited:
            continue
        visited.add(node_id)
        node = diagram.nodes[node_id]
        if node[0] == "leaf":
            results.add(node[1])
        elif node[0] == "value":
            results.add(node[1])
            needed.update(node[2])
        elif node[0] == "open":
            needed.update(node[1])
            results.add(Result(UNKNOWN, UNKNOWN, ()))
        else:
            needed.add(node[1])
            stack.extend(node[2])
    decision_needed = _decision_vars(diagram, root)
    if not exact and not run.stopped:
        decision_needed.update(first_env.unknown_vars)

    def ordered(found: set[tuple]) -> tuple[tuple, ...]:
        return tuple(sorted(found, key=lambda v: var_order(compiled, v)))

    return Search(frozenset(results), ordered(needed), run.atom_facts, exact, ordered(decision_needed & needed) if compiled.model.results else None)


def _decision_vars(diagram: _Diagram, root: int) -> set[tuple]:
    """The variables the decision itself (outcome, priority, element outcomes) depends on: those labelling a node of the diagram
    with the header's results left out of its terminals, built from the full one (equal sub-diagrams shared, so it is reduced too)."""
    projected = _Diagram()
    memo: dict[int, int] = {}
    needed: set[tuple] = set()

    def visit(node_id: int) -> int:
        found = memo.get(node_id)
        if found is not None:
            return found
        node = diagram.nodes[node_id]
        if node[0] == "node":
            children = tuple(visit(c) for c in node[2])
            found = children[0] if all(c == children[0] for c in children) else projected.make(("node", node[1], children))
        elif node[0] == "value" and node[1].outcome is UNKNOWN:
            # A valued outcome worked out from missing amounts: it needs them.
            result = node[1]
            found = projected.make(("value", (result.outcome, result.priority, result.elements), node[4], node[5]))
        elif node[0] in ("leaf", "value"):
            result = node[1]
            found = projected.make(("leaf", (result.outcome, result.priority, result.elements, result.conflict)))
        else:
            found = projected.make(node)
        memo[node_id] = found
        return found

    visit(root)
    for node in projected.nodes:
        if node[0] == "node":
            needed.add(node[1])
    for node in projected.nodes:
        if node[0] in ("value", "open"):
            needed.update(node[2] if node[0] == "value" else node[1])
    return needed


class _Run:
    """One pass of the search, with a fixed set of values for each bounded fact."""

    def __init__(
        self,
        compiled: CompiledPolicy,
        facts: Mapping[str, Any],
        as_of: date,
        service: str | None,
        first_env: Env,
        constants: dict[str, set[Any]],
        evaluations: int,
    ) -> None:
        self.compiled = compiled
        self.facts = facts
        self.as_of = as_of
        self.service = service
        self.points = {f: _points(compiled.model.fact_types[f].kind, c) for f, c in constants.items()}
        self.seen: dict[str, set[Any]] = {}
        self.diagram = _Diagram()
        self.atom_facts: dict[tuple, tuple[str, ...]] = dict(first_env.atom_facts)
        self.cache: dict[frozenset, int] = {}
        self.conflict: Result | None = None
        self.stopped = False
        self.evaluations = evaluations
        # Each evaluation looks at every list item: long lists allow fewer evaluations.
        items = sum(len(v) for v in facts.values() if isinstance(v, tuple))
        self.limit = max(SEARCH_MIN_EVALUATIONS, min(SEARCH_LIMIT, SEARCH_ITEM_BUDGET // (1 + items)))

    def domain(self, var: tuple) -> tuple[Any, ...]:
        if var[0] != "v":
            return var_domain(self.compiled, var)
        if var[1] in self.points:
            return self.points[var[1]]
        return _points(self.compiled.model.fact_types[var[1]].kind, self.seen.get(var[1], set()))

    def explore(self, assume: dict[tuple, Any], result: Result, env: Env) -> int:
        compiled, diagram = self.compiled, self.diagram
        for fact, found in env.constants.items():
            self.seen.setdefault(fact, set()).update(found)
        if result.conflict is not None:
            # Every conflict is one leaf, "no decision": which rules conflict does
            # not make a fact needed. The first found is the one reported.
            self.conflict = self.conflict or result
            return diagram.make(("leaf", self.conflict))
        if not is_open(result):
            return diagram.make(("leaf", result))
        key = frozenset(env.looked_up)
        found = self.cache.get(key)
        if found is not None:
            return found
        if not env.unknown_vars:
            # Nothing left to branch on: a value worked out from missing amounts. It is
            # unknown, and needs the missing facts it is worked out from.
            outcome = (_value_vars(compiled, env, env.outcome_facts), frozenset(env.outcome_looked))
            node = diagram.make(("value", result, _value_vars(compiled, env, env.value_facts), frozenset(env.value_looked), *outcome))
            self.cache[key] = node
            return node
        if self.evaluations >= self.limit or len(assume) >= MAX_SEARCH_DEPTH:
            self.stopped = True
            node = diagram.make(("open", tuple(sorted(env.unknown_vars, key=lambda v: var_order(compiled, v)))))
            self.cache[key] = node
            return node
        var = min(env.unknown_vars, key=lambda v: var_order(compiled, v))
        children = []
        for value in self.domain(var):
            branch = {**assume, var: value}
            self.evaluations += 1
            sub_result, sub_env = evaluate_once(compiled, self.facts, self.as_of, branch, self.service)
            self.atom_facts.update(sub_env.atom_facts)
            children.append(self.explore(branch, sub_result, sub_env))
        node = children[0] if all(c == children[0] for c in children) else diagram.make(("node", var, tuple(children)))
        self.cache[key] = node
        return node


def _value_vars(compiled: CompiledPolicy, env: Env, names: list[str]) -> tuple[tuple, ...]:
    """The missing facts (and fields) an unknown reported value is worked out from, as variables of the search.

    Those read only by a test the search answered (an atom or a bound whose
    value was assumed on this path) are not among them: that test is a node
    of the diagram, and needs them only where it matters.
    """
    answered: set[str] = set()
    for var, _value in env.looked_up:
        if var[0] in ("a", "v"):
            answered.update(env.atom_facts.get(var, ()))
    found: dict[tuple, None] = {}
    for name in names:
        if name in answered:
            continue
        base, _, rest = name.partition("[")
        if rest:
            index, _, field = rest.partition("].")
            found[("i", base, int(index), field)] = None
        else:
            found[("f", name)] = None
    return tuple(sorted(found, key=lambda v: var_order(compiled, v)))


def _points(kind: str, constants: set[Any]) -> tuple[Any, ...]:
    """One value of a fact of this kind in each stretch between and around the constants, and each constant.

    Every comparison of the fact with one of the constants holds or fails
    alike for all values in a stretch, so these values answer every bound.
    """
    try:
        ordered = sorted(constants)
    except TypeError:  # values of different kinds: keep them apart, in a fixed order
        ordered = sorted(constants, key=repr)
    values: list[Any] = []
    if kind == "text":
        values = [*ordered, "\0" * (1 + max((len(str(c)) for c in ordered), default=0))]
    elif kind == "date":
        for c in ordered:
            values.extend(_days_around(c))
    elif kind == "whole number":
        for c in ordered:
            low, high = math.floor(c), math.ceil(c)
            values.extend(Decimal(x) for x in (low - 1, low, high, high + 1))
    else:
        values = list(ordered)
        values.extend((a + b) / 2 for a, b in itertools.pairwise(ordered))
        if ordered:
            values.extend((ordered[0] - 1, ordered[-1] + 1))
    try:
        return tuple(sorted(set(values)))
    except TypeError:
        return tuple(dict.fromkeys(values))


def _days_around(day: date) -> list[date]:
    found = [day]
    for step in (timedelta(days=-1), timedelta(days=1)):
        with contextlib.suppress(OverflowError):
            found.append(day + step)
    return found


def needed_fact_names(compiled: CompiledPolicy, found: Search, variables: tuple[tuple, ...] | None = None) -> list[str]:
    """The needed variables (all of them, or ``variables``) as fact names: ``safeguarding_concern``, ``elements[1].specialist``."""
    names: dict[str, None] = {}
    for var in found.needed_vars if variables is None else variables:
        if var[0] == "f":
            names[var[1]] = None
        elif var[0] == "i":
            names[f"{var[1]}[{var[2]}].{var[3]}"] = None
        elif var[0] == "v":
            names[var[1]] = None
        else:
            for fact in found.atom_facts.get(var, ()):
                names[fact] = None
    return sorted(names, key=lambda name: _name_order(compiled, name))


def _name_order(compiled: CompiledPolicy, name: str) -> tuple:
    base, _, rest = name.partition("[")
    index = int(rest.split("]")[0]) if rest else -1
    field = rest.split(".", 1)[1] if "." in rest else ""
    record = compiled.model.fact_types.get(base)
    field_index = compiled.field_order.get((record.record or "", field), 0) if record and field else 0
    return (compiled.fact_order.get(base, len(compiled.fact_order)), index, field_index, name)


def conflict_error(compiled: CompiledPolicy, conflict: tuple[str, tuple[str, ...], tuple[str, ...], str | None], service: str | None) -> ConflictError:
    decision, labels, _spans, item = conflict
    spans = [compiled.model.rules[label].span for label in labels]
    who = f"{service} ({item})" if item and service else service or item
    return ConflictError(decision, labels, spans, who)


# --- the traced evaluation ------------------------------------------------------------


class TracingEnv(Env):
    """An evaluation that records every rule considered, for the explanation."""

    __slots__ = ("decisions_made", "last_rule")

    def __init__(self, compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, service: str | None = None) -> None:
        super().__init__(compiled, facts, as_of, tracing=True, service=service)
        self.decisions_made: list[t.DecisionMade] = []
        self.last_rule: t.RuleConsidered | None = None

    def _decide(self, decision: CompiledDecision) -> Any:
        outer = self.reads
        self.reads = None
        try:
            (_kind, value), event = self.traced_rule(decision.root, decision)
        finally:
            self.reads = outer
        item = None
        if decision.item is not None and decision.item in self.items:
            collection, index, record = self.items[decision.item]
            label = record.get("name")
            item = f"{collection}[{index}]" + (f" ({label})" if isinstance(label, str) else "")
        event = _mark_decided(event, value)
        self.decisions_made.append(t.DecisionMade(decision.name, item, decision_shown(self.compiled, decision.name, value), _decider(event), event))
        return value

    def _condition(self, rule: CompiledRule) -> tuple[Any, t.Condition | None]:
        if rule.condition is None:
            return True, None
        outer = self.reads
        self.reads = []
        try:
            holds = rule.condition(self)
            reads = _unique_reads(self.reads)
        finally:
            self.reads = outer
        failed: tuple[str, ...] = ()
        unknown: tuple[str, ...] = ()
        node = rule.node.condition
        if holds is not True:
            parts = _parts(node)
            saved, self.reads = self.reads, None
            values = []
            try:
                for part in parts:
                    values.append((part, self.compiled_part(part)))
                    if holds is False and values[-1][1] is False and _is_and(node):
                        break
            finally:
                self.reads = saved
            if holds is False:
                failed = tuple(_source_text(self.compiled, p) for p, v in values if v is False) if _is_and(node) else (_source_text(self.compiled, node),)
            unknown = tuple(_source_text(self.compiled, p) for p, v in values if v is UNKNOWN)
        return holds, t.Condition(_source_text(self.compiled, node), _truth(holds), tuple(reads), failed, unknown)

    def compiled_part(self, node: Any) -> Any:
        fn = self.compiled.parts.get(id(node))
        return fn(self) if fn is not None else UNKNOWN

    def _explained_condition(self, rule: CompiledRule) -> tuple[Any, t.Condition | None]:
        """A condition worked out for the explanation only: a failure there is shown as unknown."""
        try:
            return self._condition(rule)
        except (EvaluationError, _Conflict):
            return UNKNOWN, None

    def traced_rule(self, rule: CompiledRule, decision: CompiledDecision) -> tuple[tuple[str, Any], t.RuleConsidered]:
        applied: list[tuple[CompiledRule, Any]] = []
        maybes: list[tuple[CompiledRule, Any]] = []
        events: list[t.RuleConsidered] = []
        for child in rule.children:
            (kind, value), event = self.traced_rule(child, decision)
            events.append(event)
            if kind == "v":
                applied.append((child, value))
            elif kind == "m":
                maybes.append((child, value))
        if _disagree(applied):
            raise self.conflict(rule, applied)
        node = rule.node
        base = {
            "label": rule.label,
            "decision": rule.decision,
            "kind": "default" if node.is_default else "exception",
            "location": node.span.short,
            "citations": _citations(self.compiled, node.citations),
            "because": node.because,
            "exceptions": tuple(events),
            "table": node.table,
        }
        if applied:
            # The decision does not need this rule's own condition (an exception
            # applies), but the explanation shows it, so that a rule is only said
            # to be overridden when it would have applied.
            value = _agreed(applied, maybes)
            holds, condition = self._explained_condition(rule)
            status = "overridden" if holds is True else "does_not_apply" if holds is False else "unknown"
            event = t.RuleConsidered(**base, status=status, conclusion=_show(self, rule), condition=condition, overridden_by=applied[0][0].label)
            return ("v", value), event
        holds, condition = self._condition(rule)
        conclusion_value = rule.conclusion(self) if holds is not False else None
        shown = format_value(conclusion_value, _kind_of(self.compiled, rule.decision)) if holds is not False else _show(self, rule)
        own: tuple[str, Any] = ("e", None) if holds is False else ("v" if holds is True else "m", conclusion_value)
        status = {"e": "does_not_apply", "v": "applies", "m": "unknown"}[own[0]]
        return _with_maybes(own, maybes), t.RuleConsidered(**base, status=status, conclusion=shown, condition=condition)


def _show(env: Env, rule: CompiledRule) -> str:
    """The outcome a rule gives, as written, without evaluating it again."""
    return _source_text(env.compiled, rule.node.conclusion)


def _is_and(node: Any) -> bool:
    from policy_rules.language import nodes as n

    return isinstance(node, n.BoolOp) and node.op == "and"


def _parts(node: Any) -> tuple[Any, ...]:
    from policy_rules.language import nodes as n

    if isinstance(node, n.BoolOp):
        return node.operands
    return (node,)


def _mark_decided(event: t.RuleConsidered, value: Any) -> t.RuleConsidered:
    """Mark the rule whose conclusion became the decision as ``decided``."""
    if value is UNKNOWN:
        return event
    if event.overridden_by:
        # Every exception that applied gave the decision: agreeing grounds are all named.
        exceptions = tuple(_mark_decided(e, value) if e.status == "applies" or e.overridden_by else e for e in event.exceptions)
        return event._replace(exceptions=exceptions)
    if event.status == "applies":
        return event._replace(status="decided")
    return event


def _decider(event: t.RuleConsidered) -> str | None:
    for rule in event.walk():
        if rule.status == "decided":
            return rule.label
    return None


def traced_evaluation(compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, service: str | None = None) -> tuple[Result, TracingEnv]:
    env = TracingEnv(compiled, facts, as_of, service=service)
    return _results(env), env
