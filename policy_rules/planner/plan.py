"""The insourcing programme: from a register and the rules to a plan by quarter, each placement with its reason.

``plan(policy, register, ...)`` decides every service with the rules (no
trace), turns each one the rules bring in-house into a ``Candidate`` for the
solver (``policy_rules.planner.solver``), and explains where each service
landed: waiting for its contract, preparing a phased move, behind a full
quarter or a spent yearly budget. Services the rules do not bring in-house,
and those whose facts do not yet settle a decision or a place, are listed
with why. The ``Plan`` is a value; ``policy_rules.planner.report`` shows it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from policy_rules.engine.decision import Decision, PolicyInfo
from policy_rules.errors import FactsError, UsageError, did_you_mean
from policy_rules.planner import quarters as qt
from policy_rules.planner.solver import QUARTERS_PER_YEAR, Candidate, Capacity, Solution, Stage, solve, year_of
from policy_rules.values.types import UNKNOWN

if TYPE_CHECKING:
    from policy_rules.api import Policy

#: How the plan reads a hybrid service's figures: the register gives one staff
#: figure and one pair of costs per service, not per part.
HYBRID_READING = (
    "a hybrid service moves only its in-house parts; the register gives one staff figure and one pair of costs per service, "
    "so the planner reads them as those of the in-house parts: the staff who transfer are the staff of the parts brought in, "
    "and the added yearly cost is the in-house cost less the current spend, as the register gives them"
)
BUDGET_READING = (
    "the budget is per programme year (four quarters from the start): the added yearly cost of the services moved in a year "
    "(in-house cost less current spend, where positive; savings are not counted against it) must be within it"
)


@attrs.frozen
class PlanNames:
    """The facts and outcomes the planner reads, named as the Haringey rules name them; another policy names its own."""

    contract_end: str = "contract_end_date"
    staff: str = "staff"
    annual_spend: str = "annual_spend"
    in_house_cost: str = "in_house_annual_cost"
    in_house_outcomes: tuple[str, ...] = ("in_house", "in_house_phased", "hybrid")
    phased_outcome: str = "in_house_phased"
    high_priority: str = "high"

    def facts(self) -> dict[str, str]:
        return {"contract_end": self.contract_end, "staff": self.staff, "annual_spend": self.annual_spend, "in_house_cost": self.in_house_cost}


#: The kinds of value each named fact may have.
_KINDS = {"contract_end": ("date",), "staff": ("whole number", "number"), "annual_spend": ("money", "number"), "in_house_cost": ("money", "number")}
_MEANING = {
    "contract_end": "the date the current contract ends",
    "staff": "the staff who would transfer in",
    "annual_spend": "what the council spends on the service a year today",
    "in_house_cost": "the yearly cost of delivering the service in-house",
}


@attrs.frozen
class PlannedService:
    """One service of the register in the plan: its quarter (``None``: not scheduled) and why."""

    service: str
    outcome: str
    priority: str | None
    quarter: str | None
    reason: str
    waits_for: tuple[str, ...] = ()
    earliest_quarter: str | None = None
    contract_end_date: str | None = None
    preparation_from: str | None = None
    staff: int | None = None
    added_cost: int | None = None
    in_house_parts: tuple[str, ...] = ()
    external_parts: tuple[str, ...] = ()
    extension_quarters: int | None = None
    needed_facts: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    row: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        for key in ("waits_for", "in_house_parts", "external_parts", "needed_facts", "questions"):
            out[key] = list(out[key])
        return out


@attrs.frozen
class QuarterUse:
    """What one quarter of the programme takes on, against the capacity."""

    quarter: str
    staff: int
    added_cost: int
    services: int
    staff_capacity: int | None
    year: int
    year_added_cost: int
    budget_per_year: int | None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Extension:
    """A contract that runs past its end: by how many quarters (``None``: past the programme's last quarter, the service not scheduled)."""

    service: str
    contract_end_date: str
    ends_in: str
    moves_in: str | None
    quarters: int | None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Plan:
    """The programme: every service of the register once, the capacity used per quarter, the contracts to extend."""

    optimal: bool
    start: str
    last: str
    quarters: tuple[QuarterUse, ...]
    services: tuple[PlannedService, ...]
    extensions: tuple[Extension, ...]
    stages: tuple[Stage, ...]
    settings: Mapping[str, Any]
    readings: tuple[str, ...]
    policy: PolicyInfo
    as_of: str
    seconds: float

    @property
    def status(self) -> str:
        return "optimal" if self.optimal else "best found within the time limit (not proven optimal)"

    @property
    def scheduled(self) -> tuple[PlannedService, ...]:
        return tuple(s for s in self.services if s.quarter is not None)

    def objective(self) -> dict[str, Any]:
        return {"stages": [attrs.asdict(s) for s in self.stages]}

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``interfaces.md`` names it, with the settings, readings and objective beside it."""
        return {
            "optimal": self.optimal,
            "status": self.status,
            "start": self.start,
            "last": self.last,
            "quarters": [q.to_dict() for q in self.quarters],
            "services": [s.to_dict() for s in self.services],
            "extensions": [e.to_dict() for e in self.extensions],
            "objective": self.objective(),
            "settings": dict(self.settings),
            "readings": list(self.readings),
            "policy": self.policy.to_dict(),
            "as_of": self.as_of,
            "seconds": round(self.seconds, 3),
        }


def read_money(value: Any, option: str = "--budget-per-year") -> int:
    """Whole pounds from a number or text such as ``£1,500,000``; a ``UsageError`` for anything else or below zero."""
    if isinstance(value, bool):
        raise UsageError(f"`{value}` is not an amount of money", option)
    text = str(value).strip().replace(",", "").removeprefix("£").strip()
    try:
        amount = Decimal(text) if re.fullmatch(r"\d+(\.\d+)?", text) else None
    except InvalidOperation:
        amount = None
    if amount is None:
        raise UsageError(f"`{value}` is not an amount of money; write it in pounds, for example 2500000 or £2,500,000", option)
    return math.floor(amount)


def plan(
    policy: Policy,
    register: str | Path | Iterable[Mapping[str, Any]],
    *,
    start: str | date | int | None = None,
    quarters: int = 12,
    staff_per_quarter: int | None = None,
    budget_per_year: Any = None,
    preparation_quarters: int = 2,
    as_of: date | str | None = None,
    time_limit: float = 20.0,
    workers: int | None = None,
    names: PlanNames | None = None,
) -> Plan:
    """Plan the insourcing programme for a register under the capacity given.

    ``policy`` is a loaded ``Policy`` (``policy_rules.plan`` also takes a rule file or folder); ``register`` a
    facts file (YAML, JSON, CSV) or the services' facts as mappings. ``start``
    is a month (``YYYY-MM``), a quarter (``YYYY-Q1``) or a date; by default the
    quarter of ``as_of`` (the register's date, else today). A limit left as
    ``None`` does not bind. Phased services spend ``preparation_quarters``
    building skills from the programme's start before they can move.
    """
    from policy_rules.registers.facts import read_facts_file
    from policy_rules.values.dates import parse_as_of

    names = names or PlanNames()
    _check_names(policy, names)
    if quarters < 1 or quarters > 400:
        raise UsageError(f"a programme of {quarters} quarters cannot be planned; give 1 to 400 quarters", "--quarters")
    if staff_per_quarter is not None and staff_per_quarter < 0:
        raise UsageError("the staff the council can take on per quarter cannot be below 0", "--staff-per-quarter")
    if preparation_quarters < 0:
        raise UsageError("the preparation period of a phased service cannot be below 0 quarters", "--preparation")
    if time_limit <= 0:
        raise UsageError("the time limit must be above 0 seconds", "--time-limit")
    budget = read_money(budget_per_year) if budget_per_year is not None else None
    path = "<register>"
    if isinstance(register, str | Path):
        path = str(register)
        facts_file = read_facts_file(path, known=policy.model.fact_types)
        rows = [s.raw for s in facts_file.services]
        if as_of is None and facts_file.as_of is not None:
            as_of = facts_file.as_of
    else:
        rows = list(register)
    when = parse_as_of(as_of)
    first = _start_quarter(start, when)
    capacity = Capacity(quarters, staff_per_quarter, budget)
    decisions = list(policy.evaluate_many(rows, when, path=path))
    intake = _Intake(policy, names, capacity, first, preparation_quarters, path)
    entries = [intake.entry(raw, decision, index) for index, (raw, decision) in enumerate(zip(rows, decisions, strict=True))]
    candidates = [e.candidate for e in entries if e.candidate is not None]
    solution = solve(candidates, capacity, time_limit=time_limit, workers=workers)
    return _assemble(entries, solution, capacity, first, preparation_quarters, policy.info, when, names)


def _check_names(policy: Any, names: PlanNames) -> None:
    """Every fact the plan reads is declared with a kind it can read, and the in-house outcomes are outcomes of the policy."""
    model = policy.model
    for role, fact in names.facts().items():
        declared = model.fact_types.get(fact)
        if declared is None:
            raise UsageError(
                f"the policy declares no fact `{fact}` ({_MEANING[role]}){did_you_mean(fact, model.facts)}; name the policy's own with --fact {role}=NAME",
                "--fact",
            )
        if declared.kind not in _KINDS[role]:
            raise UsageError(f"the fact `{fact}` is a {declared.kind}; as {_MEANING[role]} it must be a {' or a '.join(_KINDS[role])}", "--fact")
    decision = model.decisions.get(model.outcome or "")
    outcomes = {o.name for o in decision.outcomes} if decision is not None else set()
    if not outcomes & set(names.in_house_outcomes):
        raise UsageError(
            f"none of the outcomes that bring a service in-house ({', '.join(names.in_house_outcomes)}) is an outcome of this policy "
            f"(its outcomes: {', '.join(sorted(outcomes)) or 'none'})",
            "--in-house",
        )


def _start_quarter(start: str | date | int | None, when: date) -> int:
    if start is None:
        return qt.of_date(when)
    if isinstance(start, date):
        return qt.of_date(start)
    if isinstance(start, int) and not isinstance(start, bool):
        return start
    return qt.parse_start(str(start))


@attrs.frozen
class _Entry:
    """A service on its way into the plan: its decision, and either a listing already settled or a candidate to schedule."""

    decision: Decision
    name: str
    index: int
    listed: PlannedService | None = None
    candidate: Candidate | None = None
    phased: bool = False
    contract_end: date | None = None
    in_house_parts: tuple[str, ...] = ()
    external_parts: tuple[str, ...] = ()
    staff_known: bool = False
    cost_known: bool = False


@attrs.define
class _Intake:
    """Turns a decided service into an entry of the plan: listed (not in-house, undetermined, facts missing) or a candidate."""

    policy: Any
    names: PlanNames
    capacity: Capacity
    first: int
    preparation: int
    path: str

    def entry(self, raw: Mapping[str, Any], decision: Decision, index: int) -> _Entry:
        name = decision.service or f"service #{index + 1}"
        names = self.names
        if decision.undetermined:
            return _Entry(decision, name, index, listed=self._needs(decision, name, index, decision.needed_facts, "the rules cannot decide it yet"))
        if decision.outcome not in names.in_house_outcomes:
            rule = f" (rule {decision.decided_by})" if decision.decided_by else ""
            reason = f"not brought in-house: the rules decide {decision.outcome}{rule}"
            return _Entry(decision, name, index, listed=PlannedService(name, decision.outcome, decision.priority, None, reason, ("not_in_house",), row=index))
        typed, _service = self.policy.facts_of(raw, path=self.path, index=index)
        wanted = [names.contract_end]
        if self.capacity.staff_per_quarter is not None:
            wanted.append(names.staff)
        if self.capacity.budget_per_year is not None:
            wanted += [names.in_house_cost, names.annual_spend]
        missing = tuple(f for f in wanted if typed.get(f, UNKNOWN) is UNKNOWN)
        if missing:
            why = "brought in-house, but it cannot be placed in a quarter yet"
            return _Entry(decision, name, index, listed=self._needs(decision, name, index, missing, why))
        staff = _known(typed.get(names.staff))
        if staff is not None and staff < 0:
            raise FactsError(f"{staff} staff cannot transfer; give the number of staff, 0 or more", path=self.path, service=name, fact=names.staff)
        cost, spend = _known(typed.get(names.in_house_cost)), _known(typed.get(names.annual_spend))
        added = math.ceil(max(Decimal(0), cost - spend)) if cost is not None and spend is not None else None
        in_house_outcomes = set(names.in_house_outcomes)
        parts = decision.elements
        inside = tuple(e.name for e in parts if e.outcome in in_house_outcomes)
        outside = tuple(e.name for e in parts if e.outcome not in in_house_outcomes)
        phased = decision.outcome == names.phased_outcome or any(e.outcome == names.phased_outcome for e in parts)
        end_date: date = typed[names.contract_end]
        end = qt.of_date(end_date) - self.first
        earliest = max(0, end, self.preparation if phased else 0)
        candidate = Candidate(math.ceil(staff) if staff is not None else 0, added or 0, earliest, end, decision.priority == names.high_priority)
        return _Entry(
            decision,
            name,
            index,
            candidate=candidate,
            phased=phased,
            contract_end=end_date,
            in_house_parts=inside if outside else (),
            external_parts=outside,
            staff_known=staff is not None,
            cost_known=added is not None,
        )

    def _needs(self, decision: Decision, name: str, index: int, facts: Sequence[str], why: str) -> PlannedService:
        questions = tuple(self.policy.question(f) for f in facts)
        reason = f"{why}: needs {', '.join(facts)}" if facts else why
        return PlannedService(
            name, decision.outcome, decision.priority, None, reason, ("needs_facts",), needed_facts=tuple(facts), questions=questions, row=index
        )


def _known(value: Any) -> Decimal | None:
    return None if value is None or value is UNKNOWN else Decimal(value)


def _assemble(
    entries: Sequence[_Entry],
    solution: Solution,
    capacity: Capacity,
    first: int,
    preparation: int,
    info: PolicyInfo,
    when: date,
    names: PlanNames,
) -> Plan:
    horizon = capacity.quarters
    placed = iter(solution.quarters)
    at: dict[int, int | None] = {e.index: next(placed) for e in entries if e.candidate is not None}
    staff_in = [0] * horizon
    cost_in = [0] * horizon
    count_in = [0] * horizon
    for e in entries:
        q = at.get(e.index)
        if q is not None and e.candidate is not None:
            staff_in[q] += e.candidate.staff
            cost_in[q] += e.candidate.added_cost
            count_in[q] += 1
    years = [sum(cost_in[y * QUARTERS_PER_YEAR : (y + 1) * QUARTERS_PER_YEAR]) for y in range((horizon + QUARTERS_PER_YEAR - 1) // QUARTERS_PER_YEAR)]
    explain = _Explainer(capacity, first, preparation, staff_in, years)
    services: list[PlannedService] = []
    extensions: list[Extension] = []
    for e in entries:
        if e.listed is not None:
            services.append(e.listed)
            continue
        c = e.candidate
        assert c is not None and e.contract_end is not None
        q = at[e.index]
        reason, waits, extension = explain.why(c, q, e.phased, e.contract_end)
        d = e.decision
        services.append(
            PlannedService(
                e.name,
                d.outcome,
                d.priority,
                qt.label(first + q) if q is not None else None,
                reason,
                waits,
                earliest_quarter=qt.label(first + c.earliest),
                contract_end_date=e.contract_end.isoformat(),
                preparation_from=qt.label(first + q - preparation) if e.phased and preparation and q is not None else None,
                staff=c.staff if e.staff_known else None,
                added_cost=c.added_cost if e.cost_known else None,
                in_house_parts=e.in_house_parts,
                external_parts=e.external_parts,
                extension_quarters=extension,
                row=e.index,
            )
        )
        if (q is not None and q > c.contract_end) or (q is None and c.contract_end < horizon):
            moves = qt.label(first + q) if q is not None else None
            extensions.append(Extension(e.name, e.contract_end.isoformat(), qt.label(first + c.contract_end), moves, extension))
    uses = tuple(
        QuarterUse(
            qt.label(first + q), staff_in[q], cost_in[q], count_in[q], capacity.staff_per_quarter, year_of(q) + 1, years[year_of(q)], capacity.budget_per_year
        )
        for q in range(horizon)
    )
    settings = {
        "start": qt.label(first),
        "quarters": horizon,
        "staff_per_quarter": capacity.staff_per_quarter,
        "budget_per_year": capacity.budget_per_year,
        "preparation_quarters": preparation,
        "facts": names.facts(),
        "in_house_outcomes": list(names.in_house_outcomes),
        "phased_outcome": names.phased_outcome,
        "high_priority": names.high_priority,
    }
    readings = (
        f"a phased service ({names.phased_outcome}) first spends {preparation} quarter{'s' * (preparation != 1)} building skills, "
        "from the programme's start at the earliest, and moves in the quarter after",
        "a service moves in the quarter its contract ends in, or later; a contract that ended before the programme starts runs past its end until the move",
        BUDGET_READING,
        HYBRID_READING,
    )
    return Plan(
        solution.optimal,
        qt.label(first),
        qt.label(first + horizon - 1),
        uses,
        tuple(services),
        tuple(extensions),
        solution.stages,
        settings,
        readings,
        info,
        when.isoformat(),
        solution.seconds,
    )


@attrs.define
class _Explainer:
    """Why a candidate sits where the solver put it: what kept it from every earlier quarter."""

    capacity: Capacity
    first: int
    preparation: int
    staff_in: list[int]
    years: list[int]

    def why(self, c: Candidate, q: int | None, phased: bool, end_date: date) -> tuple[str, tuple[str, ...], int | None]:
        """The reason's text, its codes (``contract``, ``preparation``, ``staff_capacity``, ``budget``, ``time_limit``), and the extension in quarters."""
        cap = self.capacity
        label = qt.label
        parts: list[str] = []
        waits: list[str] = []
        horizon = cap.quarters
        last = label(self.first + horizon - 1)
        if q is None and cap.staff_per_quarter is not None and c.staff > cap.staff_per_quarter:
            parts.append(f"{c.staff} staff would move at once, more than the {cap.staff_per_quarter} the council can take on in a quarter")
            waits.append("staff_capacity")
        if q is None and cap.budget_per_year is not None and c.added_cost > cap.budget_per_year:
            parts.append(f"it adds {_money(c.added_cost)} a year, more than the {_money(cap.budget_per_year)} budget for a year")
            waits.append("budget")
        if waits:
            parts[0] = f"not scheduled: {parts[0]}"
        elif c.earliest >= horizon:
            if c.contract_end == c.earliest:
                parts.append(
                    f"not scheduled: its contract ends on {end_date.isoformat()} ({label(self.first + c.contract_end)}), "
                    f"after the programme's last quarter ({last})"
                )
                waits.append("contract")
            if phased and c.earliest == self.preparation:
                lead = "" if parts else "not scheduled: "
                parts.append(f"{lead}after {self.preparation} quarters of preparation it cannot move before {label(self.first + c.earliest)}, after {last}")
                waits.append("preparation")
        else:
            if c.contract_end > 0 and c.contract_end == c.earliest:
                parts.append(f"waits for its contract, which ends on {end_date.isoformat()} ({label(self.first + c.contract_end)})")
                waits.append("contract")
            elif c.contract_end < 0:
                parts.append(f"its contract ended on {end_date.isoformat()}, before the programme starts")
            if phased and self.preparation and c.earliest == self.preparation:
                parts.append(f"preparation for phasing: skills are built for {self.preparation} quarter{'s' * (self.preparation != 1)} first")
                waits.append("preparation")
            self._blocked(c, q, range(c.earliest, q if q is not None else horizon), parts, waits)
            if q is None:
                lead = "the solver stopped at its time limit first" if "time_limit" in waits else "no quarter has room"
                parts.insert(0, f"not scheduled from {label(self.first + c.earliest)} to {last}: {lead}")
        extension = None
        if q is not None and q > c.contract_end:
            extension = q - c.contract_end
            plural = "s" * (extension != 1)
            parts.append(f"its contract must be extended by {extension} quarter{plural}, from {end_date.isoformat()} into {label(self.first + q)}")
        elif q is None and c.contract_end < horizon:
            parts.append(f"its contract, ending on {end_date.isoformat()}, must run past the programme's last quarter ({last})")
        if q is not None and not waits and c.contract_end <= 0:
            parts.insert(0, "moves in the programme's first quarter")
        return "; ".join(parts), tuple(waits), extension

    def _blocked(self, c: Candidate, q: int | None, earlier: range, parts: list[str], waits: list[str]) -> None:
        """What filled each quarter the candidate could have taken before its own (or any, when it is not scheduled)."""
        cap = self.capacity
        staff_full: list[int] = []
        budget_full: list[int] = []
        room: list[int] = []
        for r in earlier:
            staff = cap.staff_per_quarter is not None and self.staff_in[r] + c.staff > cap.staff_per_quarter
            money = cap.budget_per_year is not None and (q is None or year_of(r) != year_of(q)) and self.years[year_of(r)] + c.added_cost > cap.budget_per_year
            if staff:
                staff_full.append(r)
            if money:
                budget_full.append(r)
            if not staff and not money:
                room.append(r)
        label = qt.label
        if staff_full:
            shown = ", ".join(f"{label(self.first + r)} ({self.staff_in[r]} of {cap.staff_per_quarter} staff taken)" for r in staff_full)
            parts.append(f"staff capacity full for its {c.staff} staff in {shown}")
            waits.append("staff_capacity")
        if budget_full:
            years = sorted({year_of(r) for r in budget_full})
            shown = ", ".join(
                f"year {y + 1} ({label(self.first + y * QUARTERS_PER_YEAR)} to {label(self.first + min(cap.quarters, (y + 1) * QUARTERS_PER_YEAR) - 1)}: "
                f"{_money(self.years[y])} of {_money(cap.budget_per_year or 0)} committed)"
                for y in years
            )
            parts.append(f"budget: no room for its {_money(c.added_cost)} a year in {shown}")
            waits.append("budget")
        if room:
            quarters = ", ".join(label(self.first + r) for r in room)
            # Only a plan not proven optimal leaves room: moving the service there would improve it.
            parts.append(f"{quarters} had room: the solver stopped at its time limit before moving it earlier")
            waits.append("time_limit")


def _money(value: int) -> str:
    return f"£{value:,}"
