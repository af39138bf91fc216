"""The columnar mode (``policy_rules.engine.columnar``) against the row path and the hand-written function.

    python -m benchmarks.bench_columnar [--rows N] [--repeat N]

(a) ``--rows`` generated Haringey services (1,000,000 by default; with
elements and, with probability 2% each, blank cells) decided by
``Policy.decide_columns`` and by the row path (``Policy.evaluate_many``); the
count of rows that agree is printed for every output field, and how many rows
the columnar mode sent to the row path, and why.

(b) The decide step per row: ``decide_columns`` over a table of services whose
facts are all known, against the hand-written function
(``benchmarks/handwritten.py``) over the same services, in one process, taken
in turn; the figure is the median ratio within a turn. Building the Arrow table
is the reader's work (the register I/O) and is not timed.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

from benchmarks.handwritten import decide as handwritten
from benchmarks.haringey_services import generate
from benchmarks.run import AS_OF, ROOT, drain, interleaved, median_turn

FIELDS = ("service", "outcome", "priority", "reasons", "elements", "needed_facts", "exact")


def _row(decision: Any) -> tuple[Any, ...]:
    return (
        decision.service,
        decision.outcome,
        decision.priority,
        list(decision.reasons),
        [{"name": e.name, "outcome": e.outcome} for e in decision.elements],
        list(decision.needed_facts),
        decision.needed_facts_exact,
    )


def agreement(policy: Any, rows: int) -> bool:
    """Print the agreement of the two modes on every field of ``rows`` services with blank cells; whether they agree on all."""
    from policy_rules.engine import columnar

    services = generate(rows, seed=2026, missing=0.02)
    table = columnar.table_of(policy.model, services)
    start = time.perf_counter()
    decided, stats = policy.decide_columns_counted(table, AS_OF)
    took = time.perf_counter() - start
    print(f"columnar mode: {rows:,} services with blank cells in {took:.2f} s; to the row path: " + ", ".join(f"{v:,} {k}" for k, v in stats.items()))
    columns = {name: decided.column(name).to_pylist() for name in FIELDS}
    agree = dict.fromkeys(FIELDS, 0)
    for index, decision in enumerate(policy.evaluate_many(services, AS_OF)):
        for name, value in zip(FIELDS, _row(decision), strict=True):
            agree[name] += columns[name][index] == value
    print("agreement with the row path: " + ", ".join(f"{name} {count:,} of {rows:,}" for name, count in agree.items()))
    return all(count == rows for count in agree.values())


def speed(policy: Any, rows: int, repeat: int) -> None:
    """Print the columnar decide step per row against the hand-written function's, in the same turns."""
    from policy_rules.engine import columnar

    services = generate(rows, seed=2019)
    table = columnar.table_of(policy.model, services)
    _decided, stats = policy.decide_columns_counted(table, AS_OF)
    assert not any(stats.values()), stats
    gc.collect()
    runs: dict[str, Callable[[], Any]] = {"hand": lambda: drain(map(handwritten, services)), "columnar": lambda: policy.decide_columns(table, AS_OF)}
    times = interleaved(repeat, runs)
    r, a, b = median_turn(times, "hand", "columnar")
    print(
        f"{'columnar mode, decide step:':38s} {b / rows * 1e6:6.3f} µs per decision, hand-written {a / rows * 1e6:5.2f} µs in the same turn: "
        f"{r:.1f}x faster than hand-written ({rows:,} services)"
    )


def figures(rows: int, repeat: int) -> bool:
    """Both figures for ``rows`` services; whether the modes agreed on every field."""
    from policy_rules import load_policy

    policy = load_policy(str(ROOT / "rules" / "haringey"))
    agreed = agreement(policy, rows)
    speed(policy, rows, repeat)
    return agreed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    return 0 if figures(args.rows, args.repeat) else 1


if __name__ == "__main__":
    raise SystemExit(main())
