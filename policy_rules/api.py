"""The public facade: ``load_policy`` and ``Policy.evaluate``.

``load_policy`` reads rule files, parses, builds the AST, checks and compiles
them once; a ``Policy`` is then immutable and may be shared between threads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from policy_rules.engine import trace as t
from policy_rules.engine.amounts import encode, result
from policy_rules.engine.calculation import with_calculations
from policy_rules.engine.codegen import MODES, CannotDecide
from policy_rules.engine.compiler import CompiledPolicy, compile_policy
from policy_rules.engine.decision import Decision, ElementOutcome, PolicyInfo, Question
from policy_rules.engine.evaluator import (
    UNDETERMINED,
    Result,
    TracingEnv,
    conflict_error,
    evaluate_once,
    is_open,
    needed_fact_names,
    search,
    traced_evaluation,
)
from policy_rules.engine.lowering import lower
from policy_rules.engine.policy_function import PolicyFunction
from policy_rules.engine.traced_function import TracedPath
from policy_rules.engine.values import UNKNOWN
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError
from policy_rules.language.checker import PolicyModel, default_title
from policy_rules.language.loader import analyse, digest_of, policies, read_sources, refuse_one_file_of_a_policy, rule_files  # noqa: F401 - part of the facade
from policy_rules.registers.facts import validate


class Policy:
    """A checked, compiled policy. Immutable once loaded; ``evaluate`` is pure and thread-safe.

    One route decides: the generated function (``PolicyFunction``) reads the
    facts as given and decides when every fact it reads is known; otherwise
    ``facts_of`` validates them (reporting a wrong value with its location)
    and ``decide`` works the decision out, by the generated traced code or the
    three-valued evaluator. Only ``CannotDecide``, raised by generated code
    for that purpose, sends a service the long way; any other exception from
    generated code is a bug and propagates.
    """

    def __init__(self, compiled: CompiledPolicy, info: PolicyInfo, warnings: tuple[Diagnostic, ...]) -> None:
        self._compiled = compiled
        self.info = info
        self.warnings = warnings
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
        self._function = PolicyFunction(self._lowered, compiled.parameters, build_decision, info, self._element_outcomes, outcome_kind, self._result_kinds)
        self._decide_fast = self._function._decide
        self._dates: dict[Any, tuple[date, str]] = {}
        self._traced_path: TracedPath | None = None

    @property
    def _traced(self) -> TracedPath:
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
    def model(self) -> PolicyModel:
        return self._compiled.model

    @property
    def name(self) -> str:
        return self.info.name

    def source(self, mode: str = "two_valued") -> str:
        """The Python source generated for one mode (``two_valued``: decisions without a trace; ``traced``: with it), for whoever debugs it."""
        if mode == "two_valued":
            return self._function.source
        if mode == "traced":
            return self._traced.source
        if mode == "columnar":
            return self._columnar_function().source or f"# not generated: {self._columnar_function().unsupported}"
        raise PolicyError(f"there is no mode `{mode}`; the modes are {', '.join(MODES)}")

    def facts_of(self, raw: Mapping[str, Any], *, path: str = "<facts>", index: int = 0) -> tuple[dict[str, Any], str | None]:
        """Validate raw facts against the declarations: typed values and the service's name."""
        return validate(self.model, raw, path=path, index=index)

    def evaluate(self, facts: Mapping[str, Any], as_of: date | str | None = None, *, trace: bool = True, path: str = "<facts>", index: int = 0) -> Decision:
        """Decide one service. ``facts`` maps fact names to values as a facts file would give them.

        Raises ``FactsError`` for undeclared names or values of the wrong type,
        ``ConflictError`` when two exceptions at the same level both apply.
        """
        if as_of is None:
            when = date.today()
            shown = when.isoformat()
        else:
            known = self._dates.get(as_of)
            when, shown = known if known is not None else self._date(as_of)
        if not trace and (type(facts) is dict or isinstance(facts, Mapping)):
            # The generated function is called here directly, without the layers of
            # ``decide_fast``: a decision without its trace costs a few microseconds.
            try:
                found = self._decide_fast(facts, when, shown, index)
            except CannotDecide:
                found = None
            if found is not None:
                return found
        typed, service = self.facts_of(facts, path=path, index=index)
        return self.decide(typed, service, when, trace=trace)

    def evaluate_many(
        self, rows: Iterable[Mapping[str, Any]], as_of: date | str | None = None, *, trace: bool = False, path: str = "<facts>"
    ) -> Iterator[Decision]:
        """Decide many services, in order; the trace is off unless asked for."""
        when = parse_as_of(as_of)
        shown = when.isoformat()
        # The generated function is called here directly, not through decide_fast:
        # this loop is what register-sized batches spend their time in.
        decide = self._decide_fast
        for index, raw in enumerate(rows):
            if not trace and (type(raw) is dict or isinstance(raw, Mapping)):
                try:
                    found = decide(raw, when, shown, index)
                except CannotDecide:
                    found = None
                if found is not None:
                    yield found
                    continue
            typed, service = self.facts_of(raw, path=path, index=index)
            yield self.decide(typed, service, when, trace=trace)

    def decide_columns(self, table: Any, as_of: date) -> Any:
        """Decide a register given as an Arrow table (one column per fact, nulls unknown) by the columnar mode, in order.

        Rows that mode leaves open, or that raise, are decided here by ``evaluate``
        and merged back in place (a conflict raises as ``evaluate`` raises); the
        schema's metadata ``row_path`` says how many, ``columnar.decide_columns``
        also gives why. See ``policy_rules.engine.columnar``.
        """
        from policy_rules.engine import columnar

        return columnar.decide_columns(self, table, as_of)[0]

    def _columnar_function(self) -> Any:
        """The columnar function, generated on first use (registers only need it)."""
        found = self.__dict__.get("_columnar")
        if found is None:
            from policy_rules.engine.columnar import ColumnarFunction

            found = self.__dict__["_columnar"] = ColumnarFunction(self._lowered, self._compiled.parameters)
        return found

    def _date(self, as_of: date | str) -> tuple[date, str]:
        """The date a decision is made on and its ISO text, kept per value given (as a ``date`` or as text)."""
        when = parse_as_of(as_of)
        if len(self._dates) > 1000:
            self._dates.clear()
        found = self._dates[as_of] = (when, when.isoformat())
        return found

    def decide_fast(self, raw: Mapping[str, Any], as_of: date, *, index: int = 0) -> Decision | None:
        """The decision without its trace by generated code alone, or ``None``.

        ``None`` means the facts need the full validation (a wrong value, an
        undeclared name) or the full evaluation (a missing fact, a conflict);
        ``evaluate`` then gives the decision or the error. Facts in every
        shape a user gives them are read (see ``policy_rules.engine.policy_function``).
        """
        if type(raw) is not dict and not isinstance(raw, Mapping):
            return None
        known = self._dates.get(as_of)
        return self._function.decide(raw, as_of, (known if known is not None else self._date(as_of))[1], index)

    def decide(self, facts: Mapping[str, Any], service: str | None, as_of: date, *, trace: bool = True) -> Decision:
        """Decide one service from facts already validated by ``facts_of``.

        Without the trace, facts that reach here need the three-valued
        evaluator (``decide_fast`` took every other service); with it, the
        generated traced code explains a service whose facts are all known.
        """
        if trace:
            recorded = self._traced(facts, as_of)
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
        exact = True
        if is_open(first):
            found = search(compiled, facts, as_of, first, env, service)
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
            exact = found.exact
        reasons = _reasons(env) if model.reasons else ()
        events: tuple[t.Event, ...] = ()
        decided_by = None
        if trace:
            assert traced is not None
            events, decided_by = self._trace(facts, traced[1], as_of, Result(outcome, priority, elements, None, values), needed, exact)
        elif first.outcome is not UNKNOWN and model.outcome:
            decided_by = env.decider(compiled.decisions[model.outcome].root)
        return build_decision(
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
        return with_calculations(model, self._compiled.parameters, tuple(events), as_of), decided_by

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
        trace = with_calculations(model, self._compiled.parameters, (t.FactsGiven(given, missing, when), *worked_out, *made), as_of)
        priority = str(priority) if model.priority else None
        elements = self._elements(facts, elements)
        shown = self._outcome_shown(outcome)
        results = self._results(values)
        return build_decision((service, shown, priority, reasons if model.reasons else (), elements, (), (), True, trace, self.info, when, decided_by, results))

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


#: The one way a ``Decision`` is made, by the generated code and the full path alike: from the
#: tuple of its fields in order. ``tuple.__new__`` runs in C, without a Python frame: the
#: generated code makes a decision for every service of a register.
build_decision = functools.partial(tuple.__new__, Decision)


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


def parse_as_of(value: date | str | None) -> date:
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"`{value}` is not a date; write it as YYYY-MM-DD", "--as-of") from None


def load_policy(*paths: str | Path) -> Policy:
    """Read, parse, check and compile rule files or folders into a ``Policy``.

    Raises ``RuleFileError`` with every finding if any file has an error;
    warnings are kept on ``Policy.warnings``.
    """
    if not paths:
        raise PolicyError("give at least one rule file or folder")
    sources = read_sources(paths)
    refuse_one_file_of_a_policy(paths, sources)
    several = [home for home, _files in policies(sources) if home]
    if len(several) > 1:
        raise PolicyError(
            f"this holds {len(several)} policies ({', '.join(several)}); "
            f"give the folder of one of them, such as {several[0]} (only `check` takes several at once)",
            str(paths[0]) if len(paths) == 1 else "RULES",
        )
    return policy_from_sources(sources, default_title(str(paths[0])))


def policy_from_sources(sources: Mapping[str, str], title: str, *, cached: bool = True) -> Policy:
    """A policy from rule files' text already read.

    ``load_policy`` reads the files and comes here; a register's worker
    processes come here with the text the parent read, so a rule file changed
    while a register runs cannot give workers other rules. ``cached=False``
    for text that is not rule files on disk (a draft sent to the service):
    the parse cache is neither read nor written for it.
    """
    model, diagnostics = analyse(sources, title, cached=cached)
    if model is None or any(d.severity == "error" for d in diagnostics):
        raise RuleFileError(diagnostics)
    info = PolicyInfo(model.title, model.version, digest_of(sources))
    return Policy(compile_policy(model), info, tuple(d for d in diagnostics if d.severity == "warning"))


__all__ = ["Policy", "Result", "load_policy", "policy_from_sources"]
