"""Benchmark of the insourcing planner: a generated register of 2,000 services planned over 12 quarters.

One process, one run of ``policy_rules.plan`` with the bundled Haringey
rules: the services are decided, those brought in-house scheduled by CP-SAT
under a capacity that binds (set from the register: the staff of every
service brought in-house spread over ``--spread`` quarters, and ``--budget-share``
of their added yearly cost a programme year), and the plan explained. Prints
the wall time of the whole call, each level of the objective with CP-SAT's
bound, and whether the plan is proven optimal.

    python benchmarks/bench_plan.py [--services 2000] [--quarters 12] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.plan_register import generate
from policy_rules import load_policy, plan

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--quarters", type=int, default=12)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--spread", type=float, default=8.0, help="staff per quarter = the in-house staff over this many quarters")
    parser.add_argument("--budget-share", type=float, default=0.45, help="budget a year = this share of the in-house services' added yearly cost")
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)

    policy = load_policy(ROOT / "rules" / "haringey")
    services = generate(args.services, args.seed, first_year=2026, years=4)
    as_of = "2027-03-31"
    in_house = [
        facts for facts, d in zip(services, policy.evaluate_many(services, as_of), strict=True) if d.outcome in ("in_house", "in_house_phased", "hybrid")
    ]
    staff = math.ceil(sum(f["staff"] for f in in_house) / args.spread)
    budget = round(args.budget_share * sum(max(0, f["in_house_annual_cost"] - f["annual_spend"]) for f in in_house))

    began = time.perf_counter()
    made = plan(
        policy, services, start="2027-04", quarters=args.quarters, staff_per_quarter=staff, budget_per_year=budget, as_of=as_of, time_limit=args.time_limit
    )
    seconds = time.perf_counter() - began

    placed = Counter("scheduled" if s.quarter else ("listed" if s.earliest_quarter is None else "not scheduled") for s in made.services)
    print(f"services: {len(services):,}; brought in-house: {len(in_house):,}; quarters: {args.quarters}; start {made.start}")
    print(f"capacity: {staff:,} staff a quarter, £{budget:,} added yearly cost a programme year; time limit {args.time_limit:g} s")
    print(f"plan: {seconds:.1f} s in all (solver {made.seconds:.1f} s); {made.status}")
    print(
        f"services: {placed['scheduled']:,} scheduled, {placed['not scheduled']:,} in-house but not scheduled, "
        f"{placed['listed']:,} not in-house or not yet plannable"
    )
    print(f"contracts run past their end: {len(made.extensions):,}")
    for stage in made.stages:
        proof = "optimal" if stage.proven else f"best bound {stage.bound:,}" if stage.bound is not None else "nothing found"
        print(f"  objective, {stage.objective}: {stage.value:,} ({proof})" if stage.value is not None else f"  objective, {stage.objective}: {proof}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
