"""``policy-rules diff`` over a register against one register run of the same register.

    python benchmarks/bench_diff.py [--rows N] [--repeat N]

Writes a CSV register of generated Haringey services (100,000 by default,
``benchmarks.run.write_register``) and a second version of ``rules/haringey``
in which a service needs two strong benefit reasons, not one, to be a high
priority; then times, in turn, ``policy-rules evaluate rules/haringey
REGISTER --output decisions.csv`` (one register run) and ``policy-rules diff
OLD NEW REGISTER --format csv`` (both versions decide every service), each as
a whole process. The issue asks for the diff under twice the register run;
the figure printed is the median over the turns of the ratio within a turn.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import AS_OF, ROOT, interleaved, median_turn, write_register

CHANGED_FILE = "60-priority.rules"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        register = work / "register.csv"
        write_register(register, args.rows)
        old = ROOT / "rules" / "haringey"
        new = work / "haringey-new"
        shutil.copytree(old, new)
        text = (new / CHANGED_FILE).read_text()
        assert "at least 1 of strong_benefit_reasons" in text
        (new / CHANGED_FILE).write_text(text.replace("at least 1 of strong_benefit_reasons", "at least 2 of strong_benefit_reasons"))
        cli = [sys.executable, "-m", "policy_rules.cli"]
        date = ["--as-of", AS_OF.isoformat()]
        evaluate = [*cli, "evaluate", str(old), str(register), "--output", str(work / "decisions.csv"), *date]
        diff = [*cli, "diff", str(old), str(new), str(register), "--format", "csv", *date]
        changed: list[int] = []

        def run_diff() -> None:
            done = subprocess.run(diff, check=True, capture_output=True, text=True, cwd=ROOT)
            changed.append(done.stdout.count("\n") - 1)

        times = interleaved(args.repeat, {"register": lambda: subprocess.run(evaluate, check=True, capture_output=True, cwd=ROOT), "diff": run_diff})
        factor, diff_s, register_s = median_turn(times, "diff", "register")
        print(
            f"diff of two versions of rules/haringey over a {args.rows:,}-row register ({changed[-1]:,} services changed): "
            f"{diff_s:.2f} s against {register_s:.2f} s for one register run (`evaluate --output`): {factor:.2f}x (the issue asks under 2x)"
        )


if __name__ == "__main__":
    main()
