"""Exact needed facts by the symbolic backend, for services the evaluator's search cannot finish.

Its place: ``policy_rules.engine.evaluator.search`` builds the decision
diagram of a service over its missing facts, which grows exponentially with
them; when it would exceed its budget, it asks ``symbolic_search`` here
instead (the facade gives the engine that strategy through ``analysis.exact``;
the engine does not import this package). The answer is the one ``docs/unknown-facts.md`` defines: a missing
fact is needed when two completions of the missing facts that differ only in
it give different results (or one conflicts and the other does not). Two
copies of the service's terms share every missing value except the one
asked about, through an assumption for each; one solver call a fact.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import z3

from policy_rules.analysis.symbolic import Encoder, Names, Outcome, Substitution, World, atoms, partial_world, renamed, same_result, service_of
from policy_rules.engine.lowering import Lowered, lower
from policy_rules.values.types import UNKNOWN

if TYPE_CHECKING:
    from policy_rules.engine.compiler import CompiledPolicy
    from policy_rules.engine.evaluator import Result, Search


def lowered_of(compiled: CompiledPolicy) -> Lowered:
    """The lowered form of a compiled policy, made once for it and kept in the policy's own cache."""
    key = ("symbolic", "lowered")
    found = compiled.shown.get(key)
    if found is None:
        found = compiled.shown[key] = lower(compiled.model)
    return found


#: Past this many missing facts (a fact, or a field of a list item) the symbolic backend is not asked either:
#: it makes one solver call a fact, and a register of services with thousands of unknown fields must still run.
MAX_VARIABLES = 400

#: The symbolic answer must come within this many seconds; past it the search's inexact answer stands.
SECONDS = 10.0


class _OutOfTime(Exception):
    pass


def missing_count(model: Any, facts: Mapping[str, Any]) -> int:
    """How many missing facts and fields of list items a service has: the variables of its symbolic form."""
    count = 0
    for name in model.facts:
        kind = model.fact_types[name]
        if name not in facts:
            count += 1
        elif kind.kind == "list":
            record = model.records.get(kind.record or "")
            fields = [f.name for f in record.fields] if record else []
            count += sum(1 for item in facts[name] for f in fields if f not in item)
    return count


def symbolic_search(compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, service: str | None, first: Result | None = None) -> Search | None:
    """The search's answer (possible results, needed facts), worked out exactly.

    None, leaving the search's inexact answer, when the policy reports
    ``results`` (amounts are not part of the solver's result), when a list is missing
    altogether, when more than ``MAX_VARIABLES`` facts are missing, or when
    the answer takes longer than ``SECONDS``. ``first`` is the three-valued
    evaluation's result: what it settled is settled (it is sound), so only
    its open parts are asked about. The pairs of completions that show a fact
    needed also show which parts of the result can differ; only the parts
    they leave in doubt cost a check of their own.
    """
    model = compiled.model
    if model.results:
        return None  # the solver's result is the outcome, priority and elements: results are left to the search
    if missing_count(model, facts) > MAX_VARIABLES:
        return None
    try:
        return _exact(compiled, facts, as_of, service, first, time.monotonic() + SECONDS)
    except _OutOfTime:
        return None


def _exact(compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, service: str | None, first: Result | None, deadline: float) -> Search | None:
    from policy_rules.engine.evaluator import Result, Search, evaluate_once

    lowered = lowered_of(compiled)
    model = compiled.model
    names = Names()
    a = partial_world(model, names, "a!", facts, as_of)
    if a is None:
        return None
    ea = Encoder(lowered, a, names, compiled.parameters)
    ra = ea.result()
    solver = z3.Solver()
    solver.add(*a.valid, *ea.valid)

    def completion(*constraints: Any) -> z3.ModelRef | None:
        return solver.model() if _check(solver, deadline, *constraints) == z3.sat else None

    def evaluated(m: z3.ModelRef) -> Result:
        completed, _today = service_of(m, a, model, names, completed=True)
        return evaluate_once(compiled, completed, as_of, service=service)[0]

    results: set[Result] = set()
    if ra.conflict is not False:
        if completion(z3.Not(_b(ra.conflict))) is None:
            # Every completion conflicts: the evaluator names the rules on any one of them.
            m = completion()
            return Search(frozenset({evaluated(m)}), (), {}, True) if m is not None else None
        clash = completion(_b(ra.conflict))
        if clash is not None:
            results.add(evaluated(clash))
    parts = _parts(ra, first)
    needed, shown, rb = _needed(a, ea, ra, deadline)
    seen_open: set[Any] = set()
    equal = {key: term == _part(rb, key) for key, term in parts.items()}
    for m in shown:
        for key, same in equal.items():
            if key not in seen_open and not z3.is_true(m.eval(same, model_completion=True)):
                seen_open.add(key)
    calm = next((m for m in shown if not z3.is_true(m.eval(_b(ra.conflict), model_completion=True))), None) or completion(z3.Not(_b(ra.conflict)))
    assert calm is not None
    open_ = seen_open | {key for key, term in parts.items() if key not in seen_open and _differs(completion, ra, term, calm)}
    sample = evaluated(calm)
    results.add(sample)
    if open_:
        results.add(
            Result(
                UNKNOWN if "outcome" in open_ else sample.outcome,
                UNKNOWN if "priority" in open_ else sample.priority,
                tuple(UNKNOWN if i in open_ else e for i, e in enumerate(sample.elements)),
            )
        )
    return Search(frozenset(results), tuple(("f", label) for label in needed), {}, True)


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _part(r: Outcome, key: Any) -> Any:
    if key == "outcome":
        return r.outcome
    if key == "priority":
        return r.priority
    return r.elements[key][1]


def _parts(r: Outcome, first: Result | None) -> dict[Any, Any]:
    """The parts of the result that may be open: those the three-valued evaluation left unknown, each with its term."""
    out: dict[Any, Any] = {}
    if first is None or first.outcome is UNKNOWN:
        out["outcome"] = r.outcome
    if first is None or first.priority is UNKNOWN:
        out["priority"] = r.priority
    for i, (present, value) in enumerate(r.elements):
        if present is True and (first is None or i >= len(first.elements) or first.elements[i] is UNKNOWN):
            out[i] = value
    return {key: term for key, term in out.items() if z3.is_expr(term)}


def _differs(completion: Any, r: Outcome, term: Any, m: z3.ModelRef) -> bool:
    """Whether some completion without a conflict gives this part of the result otherwise than ``m`` does."""
    return completion(z3.Not(_b(r.conflict)), term != m.eval(term, model_completion=True)) is not None


def _check(solver: z3.Solver, deadline: float, *assumptions: Any) -> Any:
    """A solver call within what is left of the time allowed; ``_OutOfTime`` when none is left or the solver cannot tell in it."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _OutOfTime
    solver.set("timeout", max(1, int(left * 1000)))
    answer = solver.check(*assumptions)
    if answer == z3.unknown:
        raise _OutOfTime
    return answer


def _needed(a: World, ea: Encoder, ra: Outcome, deadline: float) -> tuple[list[str], list[z3.ModelRef], Outcome]:
    """The missing facts whose value alone can change the result, the models that show it, and the second copy's result they are read with.

    A second copy of the result over renamed variables must differ from the
    first while every variable but one is equal to its copy.
    """
    pairs = []
    copies: dict[str, list[tuple[Any, Any]]] = {}
    for label, (va, _given) in a.variables.items():
        copies[label] = [(x, z3.Const(f"b!{x}", x.sort())) for x in atoms(va)]
        pairs.extend(copies[label])
    substitution = Substitution(pairs)
    rb = renamed(ra, substitution)
    valid = [*a.valid, *ea.valid]
    solver = z3.Solver()
    solver.add(*valid, *(substitution(v) for v in valid))
    solver.add(z3.Not(same_result(ra, rb)))
    same: dict[str, Any] = {}
    for label in a.variables:
        flag = z3.Bool(f"same!{label}")
        solver.add(z3.Implies(flag, z3.And(*[x == y for x, y in copies[label]])))
        same[label] = flag
    needed = []
    shown: list[z3.ModelRef] = []
    for label in same:
        if _check(solver, deadline, *[flag for other, flag in same.items() if other != label]) == z3.sat:
            needed.append(label)
            shown.append(solver.model())
    return needed, shown, rb
