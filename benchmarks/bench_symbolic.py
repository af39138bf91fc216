"""The symbolic backend: exact needed facts past the search's budget, and ``analyse`` of the bundled policies.

    python benchmarks/bench_symbolic.py [--repeat N]

Prints, for each, the median over ``--repeat`` runs of the wall time and of
the process's CPU time (z3 runs in this process, so its work is counted; on
this shared machine the CPU time drifts less than the wall time). The
figures the issue asks for: a Haringey service with every fact unknown and
ten elements whose ``specialist`` is unknown, decided exactly, under 100 ms;
``analyse rules/haringey`` under 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from policy_rules import load_policy
from policy_rules.analysis.findings import analyse

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2025, 1, 15)


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    haringey = load_policy(ROOT / "rules" / "haringey")
    service = {"service": "Unknown in ten parts", "elements": [{"name": f"part {i}"} for i in range(10)]}
    unknown = [n for n in haringey.model.facts if n not in service]
    haringey.evaluate(service, AS_OF, trace=False)  # the solver's first load is not counted
    wall, cpu, decision = timed(lambda: haringey.evaluate(service, AS_OF, trace=False), args.repeat)
    assert decision.needed_facts_exact
    print(
        f"needed facts, Haringey, {len(unknown)} facts unknown + 10 elements with specialist unknown: "
        f"{len(decision.needed_facts)} needed, exact={decision.needed_facts_exact}; median {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"
    )
    for name in ("haringey", "hillingdon-dfg", "small-example"):
        policy = load_policy(ROOT / "rules" / name)
        wall, cpu, findings = timed(lambda policy=policy: analyse(policy), max(1, args.repeat // 2))
        errors = sum(f.severity == "error" for f in findings)
        print(f"analyse rules/{name}: {errors} errors, {len(findings) - errors} warnings; median {wall:.2f} s wall, {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
