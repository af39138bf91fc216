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
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy_rules import load_policy

RULES = Path(__file__).resolve().parents[1] / "rules" / "hillingdon-dfg"
AS_OF = date(2025, 6, 30)
PURPOSES = ("getting_in_and_out", "rooms_and_garden", "safety", "washing_facilities", "other")


def services(count: int, seed: int = 27) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        completion = date(rng.randrange(2010, 2025), rng.randrange(1, 13), rng.randrange(1, 29))
        out.append(
            {
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
                    {"name": f"item {j}", "purpose": rng.choice(PURPOSES), "recommended": rng.random() < 0.8, "practicable": rng.random() < 0.9}
                    for j in range(rng.randrange(1, 3))
                ],
                "completion_date": completion.isoformat(),
                "disposal_date": date(rng.randrange(completion.year, 2026), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat(),
                "grant_paid": rng.choice((3000, 5000, 5001, 12000, 20000, 30000)),
            }
        )
    return out


def _ten_years_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 10)
    except ValueError:  # 29 February: the last day of February ten years on
        return date(day.year + 10, 2, 28)


def handwritten_amounts(f: dict[str, Any]) -> tuple[str, str, str]:
    """The repayment path of the reading (rules/hillingdon-dfg/SOURCE.md), written directly: outcome, grant paid, repayment."""
    completion, disposal = date.fromisoformat(f["completion_date"]), date.fromisoformat(f["disposal_date"])
    paid = Decimal(f["grant_paid"])
    if f["tenure"] == "owner_occupier" and paid > 5000 and completion <= disposal <= _ten_years_on(completion):
        return "repay_part", "0.00", format(min(paid - 5000, Decimal(10000)), ".2f")
    return "nothing_to_repay", "0.00", "0.00"


def _engine(policy: Any) -> Callable[[list[dict[str, Any]]], None]:
    def run(rows: list[dict[str, Any]]) -> None:
        for _decision in policy.evaluate_many(rows, AS_OF):
            pass

    return run


def _handwritten(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        handwritten_amounts(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy(RULES)
    rows = services(args.services)
    for row, decision in zip(rows, policy.evaluate_many(rows, AS_OF), strict=True):
        results = dict((name, value) for name, value, _shown in decision.results)
        assert (decision.outcome, results["grant_amount"], results["repayment"]) == handwritten_amounts(row), row
    assert all(policy.decide_fast(row, AS_OF) is not None for row in rows[:200]), "the generated code should decide every case alone"
    engine = _engine(policy)
    ratios, times = [], []
    for _turn in range(args.repeat):
        start = time.perf_counter()
        engine(rows)
        mid = time.perf_counter()
        _handwritten(rows)
        end = time.perf_counter()
        ratios.append((mid - start) / (end - mid))
        times.append((mid - start, end - mid))
    median = statistics.median(ratios)
    engine_time, hand_time = times[ratios.index(median)] if median in ratios else times[0]
    traced = rows[: max(1, len(rows) // 10)]
    start = time.perf_counter()
    for row in traced:
        policy.evaluate(row, AS_OF, trace=True)
    trace_time = time.perf_counter() - start
    n = len(rows)
    print(f"Hillingdon amounts, {n:,} cases, every fact given (repayment cases), median of {args.repeat} turns")
    print(f"  engine, trace off (evaluate_many): {engine_time / n * 1e6:.1f} µs a case")
    print(f"  hand-written function:             {hand_time / n * 1e6:.1f} µs a case")
    print(f"  ratio engine / hand-written:       {median:.2f}x")
    print(f"  engine, trace on (evaluate), {len(traced):,} cases: {trace_time / len(traced) * 1e6:.1f} µs a case")


if __name__ == "__main__":
    main()
