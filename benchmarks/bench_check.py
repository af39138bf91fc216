"""How long checking takes: a 500-rule policy, and the command line's start-up.

Run it from anywhere::

    python benchmarks/bench_check.py [--rules 500] [--runs 5]

It writes a generated policy (facts, defined values, several decisions with
chains of exceptions, spread over several files) to a temporary folder, then
prints three figures:

* the time to get the LALR parser, in this process: loaded from the tables
  shipped in the package, and built from the grammar (which a stale tables
  file falls back to);
* parse + check of that policy, in this process, with the Lark parser already
  built (the median of ``--runs`` runs); target under 1 s for 500 rules;
* ``policy-rules check`` on a small policy as a whole process, start-up
  included (the median of ``--runs`` runs, after one unmeasured run that lets
  Python write its bytecode cache); target under 0.5 s.

Both run with the parse cache off (``POLICY_RULES_CACHE=off``), so every
file is parsed. No figure is asserted: a slow machine is not a failing test.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

SECTIONS = ("Scope", "Eligibility", "Exceptions", "Delivery", "Review")
OUTCOMES = ("approve", "refer", "defer", "reject")


def _facts(count: int) -> list[tuple[str, str]]:
    kinds = ("yes/no", "yes/no", "yes/no", "money", "number", "one of low, medium, high", "date")
    return [(f"fact_{i:03d}", kinds[i % len(kinds)]) for i in range(count)]


def _condition(rng: random.Random, facts: list[tuple[str, str]], defines: list[str]) -> str:
    """A condition over a few facts and defined values, using most of the language."""
    parts = []
    for _ in range(rng.randint(1, 3)):
        name, kind = rng.choice(facts)
        if kind == "yes/no":
            parts.append(rng.choice((name, f"not {name}", f"{name} is known")))
        elif kind == "money":
            parts.append(rng.choice((f"{name} is at least £{rng.randint(1, 900)},000", f"{name} * 2 is above £1,250,000.50")))
        elif kind == "number":
            parts.append(f"{name} + 1 is more than {rng.randint(1, 99)}")
        elif kind == "date":
            parts.append(f"{name} is before 20{rng.randint(10, 29)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}")
        else:
            parts.append(rng.choice((f"{name} is one of (low, high)", f"{name} is not medium")))
    if rng.random() < 0.5:
        parts.append(rng.choice(defines))
    if rng.random() < 0.2:
        parts.append("any item in items where (item.flag and item.amount is above £100)")
    return " and ".join(parts) if rng.random() < 0.7 else f"any of ({', '.join(parts)})"


def generate_policy(folder: Path, rules: int = 500, decisions: int = 10, seed: int = 7) -> int:
    """Write a policy of about ``rules`` rules into ``folder``; return the number of files written."""
    rng = random.Random(seed)
    facts = _facts(max(40, rules // 5))
    defines = [f"derived_{i:03d}" for i in range(max(10, rules // 10))]
    files: dict[str, list[str]] = {}
    sections = ", ".join(f'"{s}"' for s in SECTIONS)
    files["00-policy.rules"] = [
        'policy "Generated policy"',
        '  version "bench"',
        "  outcome decision_00",
        f'document guide "The guide" sections {sections}',
    ]
    lines = files.setdefault("10-facts.rules", [])
    for name, kind in facts:
        lines += [f"fact {name} is {kind}", f'  means "fact {name}"', f'  cites guide section "{rng.choice(SECTIONS)}"']
    lines += [
        "record item",
        '  means "one part"',
        "  field flag is yes/no",
        "  field amount is money",
        "fact items is list of item",
        "  default empty",
    ]
    lines = files.setdefault("20-defines.rules", [])
    yes_no = [name for name, kind in facts if kind == "yes/no"]
    for i, name in enumerate(defines):
        earlier = defines[:i]
        body = " or ".join(rng.sample(yes_no, 2) + ([rng.choice(earlier)] if earlier and rng.random() < 0.5 else []))
        lines += [f"define {name} as {body}", f'  because "{name} holds"', f'  cites guide section "{rng.choice(SECTIONS)}"']
    lines += [f"define reasons as those of {', '.join(yes_no[:5])} that hold", '  because "the reasons"']
    per_decision = rules // decisions
    for d in range(decisions):
        name = f"decision_{d:02d}"
        lines = files.setdefault(f"{30 + d}-{name}.rules", [])
        lines += [f"decision {name}", f'  means "decision {d}"', f"  outcomes {', '.join(OUTCOMES)}"]
        labels = [f"{name}_default"]
        lines += [f"rule {labels[0]}", f"  by default {name} is {OUTCOMES[0]}", '  because "by default"', '  cites guide section "Scope"']
        for r in range(1, per_decision):
            label = f"{name}_rule_{r:03d}"
            parent = labels[-1] if rng.random() < 0.6 else rng.choice(labels)  # chains, and some branches
            condition = _condition(rng, facts, defines)
            if r == 1 and d + 1 < decisions:  # each decision reads the next one, so every decision is used
                condition = f"decision_{d + 1:02d} is {OUTCOMES[1]} and at least 1 of reasons"
            lines += [
                f"rule {label}",
                f"  exception to {parent}",
                f"  when {condition}",
                f"  then {name} is {OUTCOMES[r % len(OUTCOMES)]}",
                f'  because "rule {r} of {name}"',
                f'  cites guide section "{rng.choice(SECTIONS)}" paragraph "{r}"',
            ]
            labels.append(label)
    for file, text in files.items():
        (folder / file).write_text("\n".join(text) + "\n", encoding="utf-8")
    return len(files)


def time_check(folder: Path, runs: int) -> tuple[float, int, int]:
    """Median seconds to parse, build and check every file of ``folder``; and the diagnostics found."""
    from policy_rules.api import analyse
    from policy_rules.language.parser import lark_parser

    lark_parser()  # loaded from the shipped tables once, outside the measurement
    sources = {str(p): p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.rules"))}
    times = []
    errors = warnings = 0
    for _ in range(runs):
        start = time.perf_counter()
        _model, diagnostics = analyse(sources, "bench")
        times.append(time.perf_counter() - start)
        errors = sum(d.severity == "error" for d in diagnostics)
        warnings = len(diagnostics) - errors
        if errors:
            print("\n".join(d.format() for d in diagnostics[:5]), file=sys.stderr)
    return statistics.median(times), errors, warnings


def time_parser(runs: int) -> tuple[float, float]:
    """Median seconds to get the parser: from the shipped tables, and built from the grammar."""
    from policy_rules.language.parser_tables import build_from_grammar, load_parser

    tables = statistics.median(timeit.repeat(load_parser, number=1, repeat=runs))
    grammar = statistics.median(timeit.repeat(build_from_grammar, number=1, repeat=runs))
    return tables, grammar


def _command() -> list[str]:
    script = Path(sys.executable).with_name("policy-rules")
    return [str(script)] if script.exists() else [sys.executable, "-m", "policy_rules.cli"]


def time_start_up(folder: Path, runs: int) -> float:
    """Median seconds for ``policy-rules check FOLDER`` as a whole process."""
    command = [*_command(), "check", str(folder)]
    warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, capture_output=True, check=False, env=warm)  # let Python cache bytecode, as an install does
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=500, help="rules in the generated policy (default 500)")
    parser.add_argument("--runs", type=int, default=5, help="runs to take the median of (default 5)")
    args = parser.parse_args(argv)
    # Both figures are of parsing as well as checking: no file is read from the parse cache.
    os.environ["POLICY_RULES_CACHE"] = "off"
    tables, grammar = time_parser(args.runs)
    print(f"the LALR parser: {tables * 1000:.1f} ms from the shipped tables, {grammar * 1000:.0f} ms built from the grammar (medians of {args.runs} runs)")
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        big = work / "big"
        big.mkdir()
        files = generate_policy(big, args.rules)
        seconds, errors, warnings = time_check(big, args.runs)
        found = f"{errors} errors, {warnings} warnings"
        print(f"parse+check, {args.rules} rules in {files} files: median {seconds:.3f} s of {args.runs} runs (target < 1 s); {found}")
        small = work / "small"
        small.mkdir()
        generate_policy(small, rules=20, decisions=2)
        seconds = time_start_up(small, args.runs)
        print(f"`policy-rules check` start-up on a 20-rule policy: median {seconds:.3f} s of {args.runs} runs (target < 0.5 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
