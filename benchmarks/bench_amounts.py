"""A valued policy timed: the Hillingdon grant's amounts, trace off, against a hand-written function of the same reading.

``python -m benchmarks.bench_amounts [--services N] [--repeat R]`` generates
Hillingdon cases with every fact given (the generated code decides a case
alone only then; a fact left out sends it to the three-valued path), checks
that the engine and ``handwritten_amounts`` agree on the outcome and both
results (``grant_amount``, ``repayment``) of every case, then times, in one
process and in turns, ``evaluate_many`` with the trace off against the
hand-written function, and reports ``evaluate`` with the trace on for a
tenth of the cases. With every fact given, ``disposal_date`` is given too, so
every case is a repayment case: the amount worked out is the repayment
(the part of the grant above £5,000, at most £10,000); the grant paid is £0.
The engine also works out the element outcomes, which the hand-written
function does not.
"""

from __future__ import annotations

import argparse
import operator
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from policy_rules import load_policy

RULES = Path(__file__).resolve().parents[1] / "rules" / "hillingdon-dfg"
AS_OF = date(2025, 6, 30)
PURPOSES = ("getting_in_and_out", "rooms_and_garden", "safety", "washing_facilities", "other")


def services(count: int, seed: int = 27) -> list[dict[str, Any]]:
    """Cases with every fact given; half of them applications (no ``disposal_date``: the fact is only asked whether known), half disposals."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        completion = date(rng.randrange(2010, 2025), rng.randrange(1, 13), rng.randrange(1, 29))
        case = {
            "application": f"case {i}",
            "disabled_person": rng.random() < 0.9,
            "date_of_birth": date(rng.randrange(1940, 2020), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat(),
            "intends_to_stay_five_years": rng.random() < 0.8,
            "shorter_stay_accepted": rng.random() < 0.3,
            "tenure": rng.choice(("owner_occupier", "owner_occupier", "private_tenant", "council_tenant")),
            "landlord_permission": rng.random() < 0.5,
            "passport_benefit": rng.random() < 0.3,
            "assessed_contribution": rng.choice((0, 500, 2500, 12000)),
            "cost_of_works": rng.choice((4000, 12000, 30000, 45000)),
            "works": [
                {
                    "name": f"item {j}",
                    "cost": rng.choice((800, 2500, 9000, 18000)),
                    "purpose": rng.choice(PURPOSES),
                    "recommended": rng.random() < 0.8,
                    "practicable": rng.random() < 0.9,
                }
                for j in range(rng.randrange(1, 3))
            ],
            "completion_date": completion.isoformat(),
            "grant_paid": rng.choice((3000, 5000, 5001, 12000, 20000, 30000)),
        }
        if i % 2:
            case["disposal_date"] = date(rng.randrange(completion.year, 2026), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat()
        out.append(case)
    return out


def _ten_years_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 10)
    except ValueError:  # 29 February: the last day of February ten years on
        return date(day.year + 10, 2, 28)


MAXIMUM_GRANT = 30_000
YES_NO = ("disabled_person", "intends_to_stay_five_years", "shorter_stay_accepted", "landlord_permission", "passport_benefit")
MONEY = ("assessed_contribution", "cost_of_works", "grant_paid")
TENURES = frozenset(("owner_occupier", "private_tenant", "housing_association_tenant", "council_tenant"))
ALL_PURPOSES = frozenset(("getting_in_and_out", "rooms_and_garden", "caring_for_others", "safety", "washing_facilities", "heating_and_controls", "other"))
DECLARED = frozenset(("application", *YES_NO, *MONEY, "tenure", "date_of_birth", "works", "completion_date", "disposal_date"))
Answer = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], str, str, str, str]


_YES_NO_OF = operator.itemgetter(*YES_NO)
_MONEY_OF = operator.itemgetter(*MONEY)
_BOOLS = (bool,) * len(YES_NO)
_INTS = (int,) * len(MONEY)


def checked(f: dict[str, Any]) -> bool:
    """The facts' types checked as the engine's generated function checks them before deciding: ``False`` sends a case elsewhere.

    Written as a careful hand would write it for speed: one ``itemgetter``
    and one comparison of types for the yes/no facts and for the amounts.
    """
    if not DECLARED.issuperset(f):
        return False
    try:
        if tuple(map(type, _YES_NO_OF(f))) != _BOOLS or tuple(map(type, money := _MONEY_OF(f))) != _INTS or min(money) < 0:
            return False
    except KeyError:
        return False
    if f["tenure"] not in TENURES or type(f["application"]) is not str:
        return False
    works = f.get("works", [])
    if type(works) is not list:
        return False
    for w in works:
        if type(w) is not dict or type(w.get("name")) is not str or w.get("purpose") not in ALL_PURPOSES:
            return False
        if type(w.get("recommended")) is not bool or type(w.get("practicable")) is not bool or type(w.get("cost")) is not int or w["cost"] < 0:
            return False
    return True


def handwritten_amounts(f: dict[str, Any], as_of: date = AS_OF) -> Answer:
    """The whole reading (rules/hillingdon-dfg/SOURCE.md) written directly: outcome, means-test exemptions, each item's outcome, grant paid,
    repayment, the covered items' total cost and that total capped.

    The money results as the JSON decision gives them (``"9500.00"``);
    dates read from their ISO text, as the engine reads them.
    """
    born = date.fromisoformat(f["date_of_birth"])
    age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    tenure, passport = f["tenure"], f["passport_benefit"]
    reasons = tuple(
        name for name, holds in (("disabled_child", age < 18), ("passport_benefit", passport), ("council_home", tenure == "council_tenant")) if holds
    )
    exempt = bool(reasons)
    cost, contribution = f["cost_of_works"], f["assessed_contribution"]
    works = f.get("works", [])
    items = tuple(
        (
            w["name"],
            "not_recommended"
            if not w["recommended"]
            else "not_covered"
            if w["purpose"] == "other"
            else "not_practicable"
            if not w["practicable"]
            else "covered",
        )
        for w in works
    )
    covered_kind = [w for w in works if w["recommended"] and w["purpose"] != "other"]
    covered = sum(w["cost"] for w, (_name, decided) in zip(works, items, strict=True) if decided == "covered")
    by_item = f"{covered}.00", f"{min(covered, cost, MAXIMUM_GRANT)}.00"
    if "disposal_date" in f:
        completion, disposal = date.fromisoformat(f["completion_date"]), date.fromisoformat(f["disposal_date"])
        paid = f["grant_paid"]
        if tenure == "owner_occupier" and paid > 5000 and completion <= disposal <= _ten_years_on(completion):
            return "repay_part", reasons, items, "0.00", f"{min(paid - 5000, 10_000)}.00", *by_item
        outcome = "nothing_to_repay"
    elif (
        not f["disabled_person"]
        or not (f["intends_to_stay_five_years"] or f["shorter_stay_accepted"])
        or not covered_kind
        or any(not w["practicable"] for w in covered_kind)
    ):
        outcome = "refused"
    elif tenure != "owner_occupier" and not f["landlord_permission"]:
        outcome = "awaiting_permission"
    elif not exempt and contribution >= cost:
        outcome = "no_grant"
    else:
        due = cost if exempt else cost - contribution
        outcome = "maximum_grant" if due > MAXIMUM_GRANT else "full_grant" if exempt or contribution == 0 else "grant_with_contribution"
        return outcome, reasons, items, f"{min(due, MAXIMUM_GRANT)}.00", "0.00", *by_item
    return outcome, reasons, items, "0.00", "0.00", *by_item


def _engine(policy: Any) -> Callable[[list[dict[str, Any]]], None]:
    def run(rows: list[dict[str, Any]]) -> None:
        for _decision in policy.evaluate_many(rows, AS_OF):
            pass

    return run


def _handwritten(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        handwritten_amounts(row)


def _handwritten_checked(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if checked(row):
            handwritten_amounts(row)


def _answer(decision: Any) -> Answer:
    results = {name: value for name, value, _shown in decision.results}
    elements = tuple((e.name, e.outcome) for e in decision.elements)
    amounts = results["grant_amount"], results["repayment"], results["covered_works_cost"], results["payable_works"]
    return decision.outcome, decision.reasons, elements, *amounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy(RULES)
    rows = services(args.services)
    for row, decision in zip(rows, policy.evaluate_many(rows, AS_OF), strict=True):
        assert checked(row) and _answer(decision) == handwritten_amounts(row), row
    on_fast_path = sum(policy.decide_fast(row, AS_OF) is not None for row in rows)
    engine = _engine(policy)
    turns = []
    for _turn in range(args.repeat):
        times = []
        for run in (engine, _handwritten_checked, _handwritten):
            start = time.perf_counter()
            run(rows)
            times.append(time.perf_counter() - start)
        turns.append(times)
    n = len(rows)
    print(f"Hillingdon amounts, {n:,} cases, every fact given (half applications, half disposals), median of {args.repeat} turns")
    print(f"  decided by the generated function alone: {on_fast_path:,} of {n:,}")
    for label, which in (("hand-written, checking the facts' types as the engine does", 1), ("hand-written, trusting its input", 2)):
        ratios = [t[0] / t[which] for t in turns]
        median = statistics.median(ratios)
        turn = turns[ratios.index(median)] if median in ratios else turns[0]
        print(f"  engine (evaluate_many, trace off) {turn[0] / n * 1e6:.2f} µs a case, {label} {turn[which] / n * 1e6:.2f} µs: {median:.2f}x")
    traced = rows[: max(1, n // 10)]
    start = time.perf_counter()
    for row in traced:
        policy.evaluate(row, AS_OF, trace=True)
    trace_time = time.perf_counter() - start
    print(f"  engine, trace on (evaluate), {len(traced):,} cases: {trace_time / len(traced) * 1e6:.1f} µs a case")


if __name__ == "__main__":
    main()
