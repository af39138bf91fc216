"""The schedule itself: which quarter each service moves in, found by OR-Tools CP-SAT.

This module sees no policy and no register, only candidates (``Candidate``:
staff, added yearly cost, the first quarter it may move in, the quarter its
contract ends, its priority) and the capacity, all as integers counted in
quarters from the start of the programme. ``policy_rules.planner.plan``
builds the candidates from the rules' decisions and explains the result.

The objective is lexicographic, in the order the insourcing issue gives it:

1. high-priority services: as few as possible left out of the programme,
   then as early as possible (the sum of their quarters);
2. standard services: the same;
3. as few contracts as possible running past their end (a service moved after
   its contract's quarter, or left out while its contract ends within the
   programme).

Each level is solved in turn with the levels before it held at their best
value, so no weighting can trade a high-priority quarter for a standard one.
The plan is optimal only when CP-SAT proves every level optimal within the
time limit; otherwise it is the best found, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import attrs

from policy_rules.errors import UsageError

QUARTERS_PER_YEAR = 4


@attrs.frozen
class Candidate:
    """One service to schedule: quarters are offsets from the programme's first quarter (0)."""

    staff: int
    added_cost: int
    earliest: int
    contract_end: int
    high: bool


@attrs.frozen
class Capacity:
    """What the council can take on: staff moved in per quarter and added yearly cost per programme year (``None``: no limit)."""

    quarters: int
    staff_per_quarter: int | None = None
    budget_per_year: int | None = None

    def fits(self, candidate: Candidate) -> bool:
        """Whether the candidate could move in some quarter of an empty programme."""
        return (
            candidate.earliest < self.quarters
            and (self.staff_per_quarter is None or candidate.staff <= self.staff_per_quarter)
            and (self.budget_per_year is None or candidate.added_cost <= self.budget_per_year)
        )


#: What each solve of the lexicographic objective minimises, in order.
STAGES = (
    "high-priority services left out, then the sum of their quarters",
    "standard services left out, then the sum of their quarters",
    "contracts running past their end",
)


@attrs.frozen
class Stage:
    """One level of the objective: the value found, the best bound CP-SAT proved, and whether they meet (``None``: nothing found in time)."""

    objective: str
    value: int | None
    bound: int | None
    proven: bool


@attrs.frozen
class Solution:
    """Each candidate's quarter (``None``: left out), whether proven optimal, and the objective's levels."""

    quarters: tuple[int | None, ...]
    optimal: bool
    levels: tuple[int, int, int, int, int]
    stages: tuple[Stage, ...]
    seconds: float


def levels(candidates: Sequence[Candidate], quarters: Sequence[int | None], horizon: int) -> tuple[int, int, int, int, int]:
    """The objective of a schedule: (high left out, sum of high quarters, standard left out, sum of standard quarters, contracts past their end)."""
    out = [0, 0, 0, 0, 0]
    for c, q in zip(candidates, quarters, strict=True):
        base = 0 if c.high else 2
        if q is None:
            out[base] += 1
            out[4] += c.contract_end < horizon
        else:
            out[base + 1] += q
            out[4] += q > c.contract_end
    return (out[0], out[1], out[2], out[3], out[4])


def year_of(quarter: int) -> int:
    """The programme year (0, 1, ...) a quarter offset falls in: budgets are per four quarters from the start."""
    return quarter // QUARTERS_PER_YEAR


def solve(candidates: Sequence[Candidate], capacity: Capacity, *, time_limit: float = 20.0, workers: int | None = None) -> Solution:
    """The schedule that is best by the lexicographic objective, within ``time_limit`` seconds in all."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        raise UsageError(
            "planning needs OR-Tools, which is not installed; install it with `pip install 'policy-rules[plan]'` (or `pip install ortools`)", "plan"
        ) from None
    began = time.monotonic()
    horizon = capacity.quarters
    model = cp_model.CpModel()
    choices: list[dict[int, cp_model.IntVar]] = []
    placed: list[cp_model.LinearExprT] = []
    for i, c in enumerate(candidates):
        options = {q: model.new_bool_var(f"s{i}q{q}") for q in range(c.earliest, horizon)} if capacity.fits(c) else {}
        if options:
            model.add_at_most_one(options.values())
        choices.append(options)
        placed.append(sum(options.values()))
    if capacity.staff_per_quarter is not None:
        for q in range(horizon):
            terms = [c.staff * opts[q] for c, opts in zip(candidates, choices, strict=True) if q in opts and c.staff]
            if terms:
                model.add(sum(terms) <= capacity.staff_per_quarter)
    if capacity.budget_per_year is not None:
        for year in range((horizon + QUARTERS_PER_YEAR - 1) // QUARTERS_PER_YEAR):
            span = range(year * QUARTERS_PER_YEAR, min(horizon, (year + 1) * QUARTERS_PER_YEAR))
            terms = [c.added_cost * opts[q] for c, opts in zip(candidates, choices, strict=True) if c.added_cost for q in span if q in opts]
            if terms:
                model.add(sum(terms) <= capacity.budget_per_year)

    def tier(high: bool) -> cp_model.LinearExprT:
        members = [i for i, c in enumerate(candidates) if c.high == high]
        left_out = len(members) - sum(placed[i] for i in members)
        at = sum(q * v for i in members for q, v in choices[i].items())
        # One left out weighs more than every quarter of the tier together, so the count comes first.
        weight = len(members) * max(horizon - 1, 0) + 1
        return weight * left_out + at

    past_end = sum(v for c, opts in zip(candidates, choices, strict=True) for q, v in opts.items() if q > c.contract_end) + sum(
        1 - placed[i] for i, c in enumerate(candidates) if c.contract_end < horizon
    )
    objectives = [tier(True), tier(False), past_end]
    solver = cp_model.CpSolver()
    # CP-SAT's portfolio of strategies wants several workers even on few cores; they share the time limit.
    solver.parameters.num_workers = workers or 8
    stages: list[Stage] = []
    chosen = first_fit(candidates, capacity)
    for i, opts in enumerate(choices):
        for q, v in opts.items():
            model.add_hint(v, chosen.get(i) == q)
    for n, objective in enumerate(objectives):
        model.minimize(objective)
        left = time_limit - (time.monotonic() - began)
        solver.parameters.max_time_in_seconds = max(left / (len(objectives) - n), 0.05) if n < len(objectives) - 1 else max(left, 0.05)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            stages.append(Stage(STAGES[n], None, None, False))
            break  # nothing found in the time left: the schedule of the stage before stands (the first fit before the first)
        found = {i: q for i, opts in enumerate(choices) for q, v in opts.items() if solver.boolean_value(v)}
        best = round(solver.objective_value)
        stages.append(Stage(STAGES[n], best, round(solver.best_objective_bound), status == cp_model.OPTIMAL))
        model.add(objective <= best)
        # The services this level left out that still fit go in by first fit: no level before gets worse, and the next starts from there.
        chosen = first_fit(candidates, capacity, found)
        model.clear_hints()
        for i, opts in enumerate(choices):
            for q, v in opts.items():
                model.add_hint(v, chosen.get(i) == q)
    quarters = tuple(chosen.get(i) for i in range(len(candidates)))
    optimal = len(stages) == len(objectives) and all(stage.proven for stage in stages)
    return Solution(quarters, optimal, levels(candidates, quarters, horizon), tuple(stages), time.monotonic() - began)


def first_fit(candidates: Sequence[Candidate], capacity: Capacity, fixed: Mapping[int, int] | None = None) -> dict[int, int]:
    """A feasible schedule to start CP-SAT from: ``fixed`` as it is, then the others, high priority first, each in the first quarter with room.

    It is only a hint: CP-SAT improves on it, and it stands as the plan only
    when the solver finds nothing better in its time (the plan then says it is
    not optimal).
    """
    staff = [0] * capacity.quarters
    cost = [0] * ((capacity.quarters + QUARTERS_PER_YEAR - 1) // QUARTERS_PER_YEAR)
    chosen = dict(fixed or {})
    for i, q in chosen.items():
        staff[q] += candidates[i].staff
        cost[year_of(q)] += candidates[i].added_cost
    for i in sorted(range(len(candidates)), key=lambda i: (not candidates[i].high, candidates[i].earliest, candidates[i].contract_end)):
        c = candidates[i]
        if i in chosen or not capacity.fits(c):
            continue
        for q in range(c.earliest, capacity.quarters):
            if (capacity.staff_per_quarter is None or staff[q] + c.staff <= capacity.staff_per_quarter) and (
                capacity.budget_per_year is None or cost[year_of(q)] + c.added_cost <= capacity.budget_per_year
            ):
                staff[q] += c.staff
                cost[year_of(q)] += c.added_cost
                chosen[i] = q
                break
    return chosen
