"""From facts read by the facts reader to a ``Decision``: the one place a decision is built.

The ``Decider`` holds a compiled policy's three routes and chooses between
them: the generated two-valued function (``policy_function``) when every fact
a decision reads is known, the generated traced code (``traced_function``)
when the trace is asked for and the facts are all known, and the
three-valued evaluator with its search for needed facts (``evaluator``)
otherwise. Whichever route decides, the decision's parts are assembled here:
the outcome and priority as shown, reasons, element outcomes, needed facts
with the questions that ask for them, ``decided_by``, results and the trace.

The facade (``policy_rules.api``) reads the facts and calls one method here;
nothing comes back up to it. The exact symbolic answer for services beyond
the search's budget is a strategy the decider is given (``exact_search``),
so the engine imports nothing from the analysis built on it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from policy_rules.engine import trace as t
from policy_rules.engine.amounts import encode, result
from policy_rules.engine.calculation import with_calculations
from policy_rules.engine.codegen import MODES, CannotDecide
from policy_rules.engine.compiler import CompiledPolicy
from policy_rules.engine.decision import Decision, ElementOutcome, PolicyInfo, Question
from policy_rules.engine.evaluator import (
    UNDETERMINED,
    ExactSearch,
    Result,
    TracingEnv,
    conflict_error,
    evaluate_once,
    is_open,
    needed_fact_names,
    search,
    traced_evaluation,
)
from policy_rules.engine.facts import validate
from policy_rules.engine.lowering import Lowered, lower
from policy_rules.engine.policy_function import PolicyFunction
from policy_rules.engine.traced_function import TracedPath
from policy_rules.errors import PolicyError
from policy_rules.language.checker import PolicyModel
from policy_rules.values.types import UNKNOWN

if TYPE_CHECKING:
    from policy_rules.engine.columnar import ColumnarFunction

#: The one way a ``Decision`` is made when no other is given, by the generated code and the full path alike: from the tuple of its
#: fields in order. ``tuple.__new__`` runs in C, without a Python frame: the generated code makes a decision for every service of a register.
build_decision = functools.partial(tuple.__new__, Decision)


class Decider:
    """A compiled policy's routes to a decision. Immutable once built (its caches hold only immutable values); safe to share between threads.

    ``make`` builds a decision from the tuple of its fields (the facade gives
    its own ``Decision``, which adds ``explain``); ``exact_search`` answers a
    service with more open questions than the search's budget.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        info: PolicyInfo,
        *,
        make: Callable[[tuple[Any, ...]], Decision] = build_decision,
        exact_search: ExactSearch | None = None,
    ) -> None:
        self._make = make
        self._exact_search = exact_search
        self.info = info
        self._compiled = compiled
        per_item = compiled.model.decisions.get(compiled.model.element_outcomes or "")
        self._element_collection = per_item.for_each.collection.name if per_item and per_item.for_each else None
        self._shared_elements: dict[tuple[Any, ...], ElementOutcome] = {}
        model = compiled.model
        kinds = model.name_types
        #: The kind of a valued outcome (``money``...), None when the outcome is named; the kind of each result.
        self._outcome_kind = kinds[model.outcome].kind if model.outcome and model.decisions[model.outcome].value_type is not None else None
        self._result_kinds = tuple((name, kinds[name].kind if name in kinds else None) for name in model.results)
        self._lowered = lower(compiled.model)
        outcome_kind = self._outcome_shown if self._outcome_kind is not None else None
        self._function = PolicyFunction(self._lowered, compiled.parameters, make, info, self._element_outcomes, outcome_kind, self._result_kinds)
        self._decide_fast = self._function._decide
        self._traced_path: TracedPath | None = None
        self._columnar: ColumnarFunction | None = None

    @property
    def traced(self) -> TracedPath:
        """The generated traced code, written and compiled when a trace is first asked for.

        Decisions without a trace never need it, and for a large policy it is
        most of the time taken to load (the source of a 2,000-rule policy is
        about 3 MB of Python). Two threads asking at once may both build it;
        either result is the same.
        """
        traced = self._traced_path
        if traced is None:
            traced = self._traced_path = TracedPath(self._compiled, self._lowered)
        return traced

    @property
    def compiled(self) -> CompiledPolicy:
        return self._compiled

    @property
    def lowered(self) -> Lowered:
        return self._lowered

    @property
    def function(self) -> PolicyFunction:
        return self._function

    @property
    def model(self) -> PolicyModel:
        return self._compiled.model

    @property
    def result_kinds(self) -> tuple[tuple[str, str | None], ...]:
        """Each result's name and kind (``money``..., None for a named value), in the order decisions give them: the columns a register writes."""
        return self._result_kinds

    @property
    def outcome_kind(self) -> str | None:
        """The kind of a valued outcome (``money``...), None when the outcome is one of its named values."""
        return self._outcome_kind

    @property
    def columnar(self) -> ColumnarFunction:
        """The columnar mode's function, generated on first use (only registers decided as columns need it); two threads may both build it."""
        found = self._columnar
        if found is None:
            # pyarrow is imported only here: a policy deciding rows never pays for loading it.
            from policy_rules.engine.columnar import ColumnarFunction

            found = self._columnar = ColumnarFunction(self._lowered, self._compiled.parameters)
        return found

    def decide_columns(self, table: Any, as_of: date, *, path: str = "<facts>") -> tuple[Any, dict[str, int]]:
        """Decide a register given as an Arrow table (one column per fact, nulls unknown) as columns, in order, and how many rows took the row path, by why.

        See ``engine.columnar.decide_columns``.
        """
        from policy_rules.engine import columnar

        return columnar.decide_columns(self, table, as_of, path=path)

    def decide_columns_kept(self, table: Any, as_of: date) -> tuple[Any, Any, dict[str, int]]:
        """The columnar mode's own decisions and the places of the rows it leaves (``engine.columnar.decide_kept``), for a caller deciding those."""
        from policy_rules.engine import columnar

        return columnar.decide_kept(self, table, as_of)

    def source(self, mode: str = "two_valued") -> str:
        """The Python source generated for one mode (``two_valued``: decisions without a trace; ``traced``: with it), for whoever debugs it."""
        if mode == "two_valued":
            return self._function.source
        if mode == "traced":
            return self.traced.source
        if mode == "columnar":
            return self.columnar.source or f"# not generated: {self.columnar.unsupported}"
        raise PolicyError(f"there is no mode `{mode}`; the modes are {', '.join(MODES)}")

    def evaluate(self, raw: Mapping[str, Any], as_of: date, shown: str, *, trace: bool, path: str, index: int) -> Decision:
        """Decide one service from its facts as given: the generated function when it can, else the facts reader and ``decide``.

        ``shown`` is ``as_of`` as ISO text (the facade keeps it per date, so
        that a register's rows do not each format it).
        """
        if not trace and (type(raw) is dict or isinstance(raw, Mapping)):
            try:
                found = self._decide_fast(raw, as_of, shown, index)
            except CannotDecide:
                found = None
            if found is not None:
                return found
        typed, service = validate(self._compiled.model, raw, path=path, index=index)
        return self.decide(typed, service, as_of, trace=trace)

    def evaluate_many(self, rows: Iterable[Mapping[str, Any]], as_of: date, *, trace: bool, path: str) -> Iterator[Decision]:
        """Decide many services in order, as ``evaluate`` decides each; the loop a register-sized batch spends its time in."""
        shown = as_of.isoformat()
        decide = self._decide_fast
        model = self._compiled.model
        for index, raw in enumerate(rows):
            if not trace and (type(raw) is dict or isinstance(raw, Mapping)):
                try:
                    found = decide(raw, as_of, shown, index)
                except CannotDecide:
                    found = None
                if found is not None:
                    yield found
                    continue
            typed, service = validate(model, raw, path=path, index=index)
            yield self.decide(typed, service, as_of, trace=trace)

    def decide_fast(self, raw: Mapping[str, Any], as_of: date, shown: str, index: int = 0) -> Decision | None:
        """The decision without its trace by generated code alone, or ``None``.

        ``None`` means the facts need the full validation (a wrong value, an
        undeclared name) or the full evaluation (a missing fact, a conflict);
        ``evaluate`` then gives the decision or the error. Facts in every
        shape a user gives them are read (see ``policy_rules.engine.policy_function``).
        """
        if type(raw) is not dict and not isinstance(raw, Mapping):
            return None
        return self._function.decide(raw, as_of, shown, index)

    def decide(self, facts: Mapping[str, Any], service: str | None, as_of: date, *, trace: bool = True) -> Decision:
        """Decide one service from facts already validated by ``facts_of``.

        Without the trace, facts that reach here need the three-valued
        evaluator (``decide_fast`` took every other service); with it, the
        generated traced code explains a service whose facts are all known.
        """
        if trace:
            recorded = self.traced(facts, as_of)
            if recorded is not None:
                return self._traced_decision(facts, service, as_of, recorded)
        return self.decide_in_full(facts, service, as_of, trace=trace)

    def decide_in_full(self, facts: Mapping[str, Any], service: str | None, as_of: date, *, trace: bool = True) -> Decision:
        """``decide`` by the three-valued evaluator alone, never by generated code.

        Every decision goes this way when a fact is missing; tests use it to
        check that the generated paths decide and explain exactly as it does.
        """
        compiled = self._compiled
        model = compiled.model
        traced = traced_evaluation(compiled, facts, as_of, service) if trace else None
        if traced is not None and traced[0].conflict is None and not is_open(traced[0]):
            first, env = traced  # settled rule by rule: the traced evaluation is the evaluation
        else:
            first, env = evaluate_once(compiled, facts, as_of, service=service)
        if first.conflict:
            raise conflict_error(compiled, first.conflict, service)
        outcome, priority, elements, values = first.outcome, first.priority, first.elements, first.values
        needed: list[str] = []
        results_needed: list[str] = []
        exact = True
        if is_open(first):
            found = search(compiled, facts, as_of, first, env, service, self._exact_search)
            conflicts = [r.conflict for r in found.results if r.conflict is not None]
            if len(conflicts) == len(found.results):
                raise conflict_error(compiled, conflicts[0], service)
            possible = found.results
            outcome = _single({r.outcome for r in possible})
            priority = _single({r.priority for r in possible}) if model.priority else None
            elements = tuple(
                _single({r.elements[i] if i < len(r.elements) and r.conflict is None else UNKNOWN for r in possible}) for i in range(len(first.elements))
            )
            values = tuple(_single({r.values[i] if r.conflict is None and i < len(r.values) else UNKNOWN for r in possible}) for i in range(len(first.values)))
            needed = needed_fact_names(compiled, found)
            if found.decision_vars is not None:
                # The outcome's needed facts apart from the results': an unknown result does not leave the decision open.
                every, needed = needed, needed_fact_names(compiled, found, found.decision_vars)
                results_needed = [name for name in every if name not in needed]
            exact = found.exact
        reasons = _reasons(env) if model.reasons else ()
        events: tuple[t.Event, ...] = ()
        decided_by = None
        if trace:
            assert traced is not None
            events, decided_by = self._trace(facts, traced[1], as_of, Result(outcome, priority, elements, None, values), needed, exact)
        elif first.outcome is not UNKNOWN and model.outcome:
            decided_by = env.decider(compiled.decisions[model.outcome].root)
        return self._make(
            (
                service,
                self._outcome_shown(outcome),
                _shown(priority) if model.priority else None,
                reasons,
                self._elements(facts, elements),
                tuple(needed),
                tuple(Question(f, self.question(f, facts)) for f in needed),
                exact,
                events,
                self.info,
                as_of.isoformat(),
                decided_by,
                self._results(values),
                tuple(results_needed),
            )
        )

    def _outcome_shown(self, value: Any) -> str:
        """The outcome as the decision gives it: an outcome name, or a valued outcome in the encoding of ``results`` (as text)."""
        if value is UNKNOWN or self._outcome_kind is None:
            return _shown(value)
        return str(encode(value, self._outcome_kind)).lower() if type(value) is bool else str(encode(value, self._outcome_kind))

    def _results(self, values: tuple[Any, ...]) -> tuple[tuple[str, Any, str], ...]:
        """The header's results, each as the JSON decision gives it and as an officer reads it."""
        return tuple(result(name, value, kind) for (name, kind), value in zip(self._result_kinds, values, strict=True))

    def _trace(
        self, facts: Mapping[str, Any], env: TracingEnv, as_of: date, settled: Result, needed: list[str], exact: bool
    ) -> tuple[tuple[t.Event, ...], str | None]:
        model = self._compiled.model
        given = tuple(env.read_of("fact", name, facts[name]) for name in model.facts if name in facts)
        missing = tuple(name for name in model.facts if name not in facts)
        events: list[t.Event] = [t.FactsGiven(given, missing, as_of.isoformat())]
        events.extend(env.worked_out)
        events.extend(_settle(model, env.decisions_made, settled))
        if needed or not exact:
            events.append(t.NeededFacts(tuple(needed), tuple(self.question(f, facts) for f in needed), exact))
        decided_by = None
        for made in env.decisions_made:
            if made.decision == model.outcome and made.item is None:
                decided_by = made.decided_by
        return with_calculations(model, self._compiled.parameters, tuple(events), as_of, facts), decided_by

    def _traced_decision(self, facts: Mapping[str, Any], service: str | None, as_of: date, recorded: tuple[Any, ...]) -> Decision:
        outcome, priority, elements, reasons, reads, worked_out, made, values = recorded
        model = self.model
        when = as_of.isoformat()
        given = tuple(r for r in reads if r is not None)
        missing = tuple(name for name, r in zip(model.facts, reads, strict=True) if r is None)
        decided_by = None
        for event in made:
            if event.decision == model.outcome and event.item is None:
                decided_by = event.decided_by
        trace = with_calculations(model, self._compiled.parameters, (t.FactsGiven(given, missing, when), *worked_out, *made), as_of, facts)
        priority = str(priority) if model.priority else None
        elements = self._elements(facts, elements)
        shown = self._outcome_shown(outcome)
        results = self._results(values)
        reasons = reasons if model.reasons else ()
        return self._make((service, shown, priority, reasons, elements, (), (), True, trace, self.info, when, decided_by, results, ()))

    def _elements(self, facts: Mapping[str, Any], values: tuple[Any, ...]) -> tuple[ElementOutcome, ...]:
        if not self._element_collection:
            return ()
        return self._element_outcomes(facts.get(self._element_collection, ()), tuple(_shown(v) for v in values))

    def _element_outcomes(self, items: Any, values: tuple[str, ...]) -> tuple[ElementOutcome, ...]:
        """Element outcomes, each shared between decisions that have the same one (they are immutable)."""
        shared = self._shared_elements
        out = []
        for index, value in enumerate(values):
            name = items[index].get("name") if index < len(items) else None
            key = (name if type(name) is str else None, value, index)
            found = shared.get(key)
            if found is None:
                shown = key[0] if key[0] is not None else f"{self._element_collection}[{index}]"
                if len(shared) >= 10_000:
                    shared.clear()
                found = shared[key] = ElementOutcome(shown, value, index)
            out.append(found)
        return tuple(out)

    def question(self, fact: str, facts: Mapping[str, Any] | None = None) -> str:
        """The question that asks for a missing fact, phrased from its declaration.

        A field of a list item is asked about by the item's name when the facts
        give it one (``For elements[1] (Lift maintenance): ...``), as the trace names it, so an
        officer knows which item is meant; by its place in the list otherwise.
        """
        model = self.model
        base, _, rest = fact.partition("[")
        decl = model.facts.get(base)
        if decl is None:
            return f"What is {fact}?"
        if rest:
            index, _, field = rest.partition("].")
            record = model.records.get(model.fact_types[base].record or "")
            fdecl = next((f for f in record.fields if f.name == field), None) if record else None
            ask = fdecl and (fdecl.asks or (f"{fdecl.means[0].upper()}{fdecl.means[1:]}?" if fdecl.means else None))
            items = facts.get(base) if facts is not None else None
            item = items[int(index)] if isinstance(items, list | tuple) and index.isdigit() and int(index) < len(items) else None
            name = item.get("name") if isinstance(item, Mapping) else None
            which = f"For {base}[{index}] ({name})" if isinstance(name, str) and name.strip() else f"For item {index} of {base}"
            return f"{which}: {ask or f'what is its {field}?'}"
        if decl.asks:
            return decl.asks
        if decl.means:
            return f"{decl.means[0].upper()}{decl.means[1:].rstrip('.')}?" if model.fact_types[base].kind == "yes/no" else f"What is {decl.means.rstrip('.')}?"
        return f"What is {fact}?"


def _settle(model: PolicyModel, made: list[t.DecisionMade], settled: Result) -> list[t.DecisionMade]:
    """The decisions as the search settled them.

    Rule by rule, three-valued evaluation can leave open a decision that every
    completion of the missing facts agrees on (``a or not a``); the search
    settles it. The event then carries the settled value, with no single rule
    that decided it (``decided_by`` null).
    """
    out = []
    element = 0
    for event in made:
        value: Any = UNKNOWN
        if event.item is None and event.decision == model.outcome:
            value = settled.outcome
        elif event.item is None and event.decision == model.priority:
            value = settled.priority
        elif event.item is not None and event.decision == model.element_outcomes:
            value = settled.elements[element] if element < len(settled.elements) else UNKNOWN
            element += 1
        if event.value == UNDETERMINED and value is not UNKNOWN:
            event = event._replace(value=str(value), decided_by=None)
        out.append(event)
    return out


def _reasons(env: Any) -> tuple[str, ...]:
    value = env.defined(env.compiled.model.reasons)
    return () if value is UNKNOWN else tuple(value)


def _single(values: set[Any]) -> Any:
    """The one possible value, or unknown when the missing facts leave more than one open."""
    return next(iter(values)) if len(values) == 1 else UNKNOWN


def _shown(value: Any) -> str:
    return UNDETERMINED if value is UNKNOWN else str(value)
