"""The benchmark: the engine against the Haringey reading written by hand, and peer engines.

One command, one process, one run (each figure the median of ``--repeat``
runs):

    python -m benchmarks.run            # from the repository root

It prints each figure and its ratio to the hand-written function; see
``benchmarks/README.md`` for recorded results. Peer engines are measured when
installed (``pip install '.[bench]'``).
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.handwritten import decide as handwritten  # noqa: E402
from benchmarks.haringey_services import generate, write_csv  # noqa: E402

AS_OF = date(2024, 4, 1)


def median_time(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def interleaved(repeat: int, runs: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Each run's times, the runs taken in turn ``repeat`` times.

    On a shared machine the speed drifts from one second to the next; taking
    the runs in turn, and the ratio within each turn, keeps that drift out of
    the ratios.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(timed(run))
    return times


def ratio(times: dict[str, list[float]], name: str, base: str) -> float:
    """The median over the turns of ``name``'s time over ``base``'s."""
    return statistics.median(a / b for a, b in zip(times[name], times[base], strict=True))


def median_turn(times: dict[str, list[float]], name: str, base: str) -> tuple[float, float, float]:
    """The turn whose ratio of ``name`` to ``base`` is the median: (ratio, name's time, base's time).

    The times printed beside a ratio come from that one turn, so that they
    agree with it; medians of each time taken apart need not.
    """
    turns = sorted(zip(times[name], times[base], strict=True), key=lambda pair: pair[0] / pair[1])
    a, b = turns[(len(turns) - 1) // 2]
    return a / b, a, b


#: Consumes an iterator and drops each result, as a register run writes one decision and moves on.
drain = collections.deque(maxlen=0).extend


def engine_view(d: Any) -> tuple[Any, ...]:
    return (d.outcome, d.priority, d.reasons, tuple((e.name, e.outcome) for e in d.elements))


def check_process_times(rules: str, repeat: int) -> tuple[float, float, float]:
    """Median seconds of ``policy-rules check`` as a whole process: parse cache filled, off, and one file edited.

    Taken in turns, so a machine that slows down for a while slows all three
    alike; in each the parser, when needed, comes from its shipped tables.
    """
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "rules"
        shutil.copytree(rules, copy)
        edited = sorted(copy.glob("*.rules"))[-1]
        original = edited.read_text(encoding="utf-8")
        command = [sys.executable, "-m", "policy_rules.cli", "check", str(copy)]
        cached = {**os.environ, "POLICY_RULES_CACHE": str(Path(folder) / "cache")}
        off = {**os.environ, "POLICY_RULES_CACHE": "off"}
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=cached)  # fills the parse cache
        edits = iter(range(repeat))

        def check(env: dict[str, str]) -> None:
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)

        def check_after_an_edit() -> None:  # a text the cache has not seen: that file is parsed, the others read
            edited.write_text(f"{original}# edit {next(edits)}\n", encoding="utf-8")
            try:
                check(cached)
            finally:
                edited.write_text(original, encoding="utf-8")

        times = interleaved(repeat, {"warm": lambda: check(cached), "cold": lambda: check(off), "edited": check_after_an_edit})
    return statistics.median(times["warm"]), statistics.median(times["cold"]), statistics.median(times["edited"])


class _Facts(dict):  # type: ignore[type-arg]
    """A dict subclass, as a caller's own facts class may be."""


def shaped(services: list[dict[str, Any]], amount: Callable[[int], Any] = int, container: Callable[[dict[str, Any]], Any] = dict) -> list[Any]:
    """The services with their amounts written by ``amount`` and each service held in ``container``."""
    return [container({k: amount(v) if k in AMOUNTS else v for k, v in s.items()}) for s in services]


def text_rows(services: list[dict[str, Any]], seed: int = 0, mixed: bool = False, blank: float = 0.0) -> list[dict[str, str]]:
    """The services as a CSV register's rows give them: every cell text, as ``csv.DictReader`` reads them.

    ``mixed`` writes the register as people fill in a spreadsheet: half the
    amounts as ``£1,234,000``, yes/no spelled several ways; ``blank`` leaves
    that share of the cells empty.
    """
    import json
    import random

    from benchmarks.haringey_services import CSV_FIELDS

    rng = random.Random(seed)
    spellings = {True: ("yes", "Yes", "YES", "y", "true", "TRUE"), False: ("no", "No", "NO", "n", "false", "False")}
    rows = []
    for s in services:
        row = {}
        for name in CSV_FIELDS:
            value = s.get(name)
            if value is None or (blank and name != "service" and rng.random() < blank):
                cell = ""
            elif name == "elements":
                cell = json.dumps(value)
            elif isinstance(value, bool):
                cell = rng.choice(spellings[value]) if mixed else ("yes" if value else "no")
            elif name in AMOUNTS and mixed and rng.random() < 0.5:
                cell = f"£{value:,}"
            else:
                cell = str(value)
            row[name] = cell
        rows.append(row)
    return rows


AMOUNTS = ("annual_spend", "in_house_annual_cost", "budget_available")


def shape_figures(policy: Any, services: list[dict[str, Any]], repeat: int, per_decision: Callable[[float, int], float]) -> int:
    """Trace off, facts in every shape a user gives them, against the hand-written function given typed values."""
    import types
    from decimal import Decimal

    shapes: dict[str, list[Any]] = {
        "int amounts, dict": services,
        "float amounts": shaped(services, float),
        "Decimal amounts": shaped(services, Decimal),
        "dict subclass": shaped(services, container=_Facts),
        "other Mapping": shaped(services, container=types.MappingProxyType),
        "all text (CSV cells)": text_rows(services),
        "all text, £ amounts and yes/no mixed": text_rows(services, mixed=True),
    }
    expected = [handwritten(s) for s in services]
    for name, rows in shapes.items():
        wrong = sum(engine_view(d) != e for d, e in zip(policy.evaluate_many(rows, AS_OF), expected, strict=True))
        if wrong:
            print(f"agreement: {name}: the engine differs from the hand-written function on {wrong} services")
            return 1
    runs: dict[str, Callable[[], Any]] = {"hand": lambda: drain(map(handwritten, services))}
    for name, rows in shapes.items():
        runs[f"many {name}"] = lambda rows=rows: drain(policy.evaluate_many(rows, AS_OF))
        runs[f"single {name}"] = lambda rows=rows: drain(policy.evaluate(s, AS_OF, trace=False) for s in rows)
    times = interleaved(repeat, runs)
    print(f"trace off, {len(services):,} services in each shape, ratio to the hand-written function given typed values:")
    for name in shapes:
        many, a, _ = median_turn(times, f"many {name}", "hand")
        single, _, _ = median_turn(times, f"single {name}", "hand")
        print(f"  {name + ':':40s} evaluate_many {many:.2f}x ({per_decision(a, len(services)):.2f} µs), evaluate {single:.2f}x")

    # A register as a spreadsheet gives it, against the same register written cleanly.
    clean = text_rows(services)
    spelled = text_rows(services, seed=1, mixed=True)
    real = text_rows(services, seed=1, mixed=True, blank=0.02)
    clean_blanks = text_rows(services, seed=1, blank=0.02)
    register = interleaved(
        repeat,
        {
            "clean": lambda: drain(policy.evaluate_many(clean, AS_OF)),
            "spelled": lambda: drain(policy.evaluate_many(spelled, AS_OF)),
            "real": lambda: drain(policy.evaluate_many(real, AS_OF)),
            "clean blanks": lambda: drain(policy.evaluate_many(clean_blanks, AS_OF)),
        },
    )
    print(
        f"register mixed like a spreadsheet (£ and plain amounts, yes/no spelled six ways, 2% blank cells), evaluate_many: "
        f"{ratio(register, 'real', 'clean'):.2f}x the clean register; "
        f"spelling alone {ratio(register, 'spelled', 'clean'):.2f}x; "
        f"with the same blank cells in both {ratio(register, 'real', 'clean blanks'):.2f}x"
    )
    return 0


def chain_policy(folder: Path, rules: int, decisions: int = 10, seed: int = 11) -> list[tuple[str, str]]:
    """A generated policy of about ``rules`` rules whose exceptions form chains: the facts it declares.

    Conditions are those of ``bench_check`` (most of the language); every
    exception is to the rule before it, so no two can both apply and every
    service is decided, as in a real policy. Each decision reads the next.
    """
    import random

    from benchmarks.bench_check import OUTCOMES, _condition, _facts

    rng = random.Random(seed)
    facts = _facts(max(40, rules // 5))
    defines = [f"derived_{i:03d}" for i in range(max(10, rules // 10))]
    yes_no = [name for name, kind in facts if kind == "yes/no"]
    lines = ['policy "Generated chains"', '  version "bench"', "  outcome decision_00", 'document guide "The guide" sections "Scope", "Review"']
    for name, kind in facts:
        lines += [f"fact {name} is {kind}", f'  means "fact {name}"']
    lines += ["record item", '  means "one part"', "  field flag is yes/no", "  field amount is money", "fact items is list of item", "  default empty"]
    for i, name in enumerate(defines):
        earlier = defines[:i]
        body = " or ".join(rng.sample(yes_no, 2) + ([rng.choice(earlier)] if earlier and rng.random() < 0.5 else []))
        lines += [f"define {name} as {body}", f'  because "{name} holds"']
    for d in range(decisions):
        name = f"decision_{d:02d}"
        lines += [f"decision {name}", f'  means "decision {d}"', f"  outcomes {', '.join(OUTCOMES)}"]
        lines += [f"rule {name}_r0", f"  by default {name} is {OUTCOMES[0]}", '  because "by default"', '  cites guide section "Scope"']
        for r in range(1, rules // decisions):
            condition = f"decision_{d + 1:02d} is {OUTCOMES[1]}" if r == 1 and d + 1 < decisions else _condition(rng, facts, defines)
            lines += [
                f"rule {name}_r{r}",
                f"  exception to {name}_r{r - 1}",
                f"  when {condition}",
                f"  then {name} is {OUTCOMES[r % len(OUTCOMES)]}",
                f'  because "rule {r} of {name}"',
                f'  cites guide section "Review" paragraph "{r}"',
            ]
    (folder / "policy.rules").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return facts


def large_policy_figures(rules: int, services: int, repeat: int) -> None:
    """Load time of a generated ``rules``-rule policy, and the time to explain a decision with it (trace on)."""
    import random

    from policy_rules import load_policy

    with tempfile.TemporaryDirectory() as folder:
        facts = chain_policy(Path(folder), rules)
        loads = []
        for _ in range(repeat):
            start = time.perf_counter()
            policy = load_policy(folder)
            loads.append(time.perf_counter() - start)
        rng = random.Random(5)
        values: dict[str, Callable[[], Any]] = {
            "yes/no": lambda: rng.random() < 0.5,
            "money": lambda: rng.randint(0, 2_000_000),
            "number": lambda: rng.randint(0, 120),
            "date": lambda: date(2000 + rng.randint(10, 29), rng.randint(1, 12), 1),
        }
        batch = [
            {name: values[kind]() if kind in values else rng.choice(("low", "medium", "high")) for name, kind in facts}
            | {"items": [{"flag": rng.random() < 0.5, "amount": rng.randint(0, 500)}]}
            for _ in range(services)
        ]
        start = time.perf_counter()
        policy.evaluate(batch[0], AS_OF)
        first = time.perf_counter() - start
        turns = [timed(lambda: drain(policy.evaluate(s, AS_OF) for s in batch)) / len(batch) for _ in range(repeat)]
        print(
            f"a generated {rules:,}-rule policy ({len(facts)} facts): load and check {statistics.median(loads):.2f} s (median of {repeat}, parse cache "
            f"{os.environ.get('POLICY_RULES_CACHE', 'on')}); first explained decision {first * 1000:.0f} ms (writes and compiles the traced code); "
            f"then {statistics.median(turns) * 1000:.2f} ms per explained decision ({len(batch)} services)"
        )


def compiled_as_installed() -> None:
    """The checkout's modules compiled to bytecode, as ``pip install`` compiles an installed package's, before any command is timed.

    The whole-process figures run ``python -m policy_rules.cli`` from the
    checkout. Where ``PYTHONDONTWRITEBYTECODE`` is set (as on this machine),
    Python would otherwise compile every module again in every run: about
    0.15 s of each, which an installed command never pays.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "policy_rules"), quiet=1)


def write_register(path: Path, rows: int) -> None:
    """A CSV register of ``rows`` generated services, written 100,000 at a time so that making it takes little memory."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        for start in range(0, rows, 100_000):
            part = Path(f"{path}.part")
            write_csv(generate(min(100_000, rows - start), seed=2019 + start), str(part))
            with open(part, encoding="utf-8", newline="") as f:
                if start:
                    f.readline()
                shutil.copyfileobj(f, out)
            part.unlink()


def register_figures(rules: str, rows: int, repeat: int) -> None:
    """Time and peak memory of a whole register through ``policy-rules evaluate --output``, with ``--jobs 1`` and ``--jobs 2``.

    Each run is a child of a small measuring process, which reports
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest peak resident size
    of any one process below it (the command itself, or one of its workers),
    as Linux counts it. With ``--jobs 2`` the tree's total is at most three
    times that: the parent and two workers.
    """
    measure = (
        "import resource, subprocess, sys, time; start = time.perf_counter();"
        " subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        " print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    with tempfile.TemporaryDirectory() as folder:
        register = Path(folder) / "register.csv"
        write_register(register, rows)
        size = register.stat().st_size
        for jobs in (1, 2):
            out = Path(folder) / f"decisions-{jobs}.csv"
            command = [sys.executable, "-m", "policy_rules.cli", "evaluate", rules, str(register), "--output", str(out), "--as-of", AS_OF.isoformat()]
            command += ["--jobs", str(jobs)]
            runs = []
            for _ in range(max(1, repeat // 2)):
                done = subprocess.run([sys.executable, "-c", measure, *command], check=True, capture_output=True, text=True, cwd=ROOT)
                seconds, peak = done.stdout.split()
                runs.append((float(seconds), int(peak) / 1024))
            seconds = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            print(
                f"register of {rows:,} services ({size / 1e6:.0f} MB CSV) through `policy-rules evaluate --output --jobs {jobs}`: "
                f"{seconds:.2f} s, peak memory {peak:.0f} MB (largest process{'; the tree at most ' + str(jobs + 1) + 'x that' if jobs > 1 else ''})"
            )
        same = (Path(folder) / "decisions-1.csv").read_bytes() == (Path(folder) / "decisions-2.csv").read_bytes()
        print(f"decisions files with --jobs 1 and --jobs 2: {'the same bytes' if same else 'DIFFERENT'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000, help="generated services for the trace-off figures (default 100,000)")
    parser.add_argument("--traced", type=int, default=10_000, help="services for the trace-on and peer-engine figures (default 10,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement; the median is reported (default 5)")
    parser.add_argument("--shapes", type=int, default=20_000, help="services for the figures of facts in other shapes (default 20,000)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the whole-process figures")
    parser.add_argument(
        "--register-rows", type=int, default=1_000_000, help="rows of the CSV register run through `policy-rules evaluate --output` (default 1,000,000)"
    )
    parser.add_argument("--register-only", action="store_true", help="measure only the register run (with --jobs 1 and 2), then stop")
    parser.add_argument("--large-rules", type=int, default=2000, help="rules of the generated policy whose load and explanation are timed (default 2,000)")
    parser.add_argument("--large-only", action="store_true", help="measure only the generated large policy, then stop")
    parser.add_argument(
        "--columnar-rows", type=int, default=1_000_000, help="generated services decided in both modes by benchmarks/bench_columnar.py (default 1,000,000)"
    )
    args = parser.parse_args()
    compiled_as_installed()

    from policy_rules import load_policy
    from policy_rules.api import read_sources

    rules = str(ROOT / "rules" / "haringey")
    if args.register_only or args.large_only:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
        if args.large_only:
            large_policy_figures(args.large_rules, 200, args.repeat)
        else:
            register_figures(rules, args.register_rows, args.repeat)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    services = generate(args.services, seed=2019)
    traced = services[: args.traced]
    policy = load_policy(rules)
    # The generated services live for the whole run; keep the garbage collector
    # from walking them again and again (the same for every engine measured).
    gc.collect()
    gc.freeze()

    disagree = sum(engine_view(policy.evaluate(s, AS_OF, trace=False)) != handwritten(s) for s in services)
    print(f"agreement: engine and hand-written function differ on {disagree} of {len(services):,} services")
    if disagree:
        return 1
    disagree = sum(engine_view(policy.evaluate(s, AS_OF, trace=True)) != handwritten(s) for s in traced)
    print(f"agreement: engine with its trace and hand-written function differ on {disagree} of {len(traced):,} services")
    if disagree:
        return 1

    def per_decision(seconds: list[float] | float, count: int) -> float:
        return (statistics.median(seconds) if isinstance(seconds, list) else seconds) / count * 1e6

    # Trace off: every result is consumed and dropped, by the engine as by the hand-written function.
    off = interleaved(
        args.repeat,
        {
            "hand": lambda: drain(map(handwritten, services)),
            "many": lambda: drain(policy.evaluate_many(services, AS_OF)),
            "single": lambda: drain(policy.evaluate(s, AS_OF, trace=False) for s in services),
            "hand kept": lambda: [handwritten(s) for s in services],
            "many kept": lambda: list(policy.evaluate_many(services, AS_OF)),
        },
    )
    for name, base, label in (
        ("many", "hand", "engine, trace off (evaluate_many)"),
        ("single", "hand", "engine, trace off (evaluate)"),
        ("many kept", "hand kept", "the same, all results kept in a list"),
    ):
        r, a, b = median_turn(off, name, base)
        a, b = per_decision(a, len(services)), per_decision(b, len(services))
        print(f"{label + ':':38s} {a:6.2f} µs per decision, hand-written {b:5.2f} µs in the same turn: ratio {r:.2f}x")

    if shape_figures(policy, services[: args.shapes], args.repeat, per_decision):
        return 1

    # Trace on: a policy loaded afresh for each turn, so that no turn reuses the
    # explanation events an earlier turn shared out (``policy_rules/engine/traced_function.py``).
    fresh: list[Any] = []

    def traced_run() -> None:
        drain(fresh[0].evaluate(s, AS_OF, trace=True) for s in traced)

    on_runs: dict[str, Callable[[], Any]] = {"hand": lambda: drain(map(handwritten, traced)), "on": traced_run}
    try:
        from benchmarks.peers import rule_engine_decider, zen_decider
    except ImportError:
        zen_decider = rule_engine_decider = None  # type: ignore[assignment]
    for name, make in (("zen-engine", zen_decider), ("rule-engine", rule_engine_decider)):
        try:
            decide = make() if make else None
        except ImportError:
            decide = None
        if decide is None:
            print(f"{name}: not installed (pip install '.[bench]')")
            continue
        wrong = sum(decide(s) != handwritten(s) for s in traced)
        print(f"{name} and the hand-written function differ on {wrong} of {len(traced):,} services")
        if wrong:
            return 1
        on_runs[name] = lambda decide=decide: drain(map(decide, traced))
    on_times: dict[str, list[float]] = {name: [] for name in on_runs}
    for _ in range(args.repeat):
        fresh[:] = [load_policy(rules)]
        for name, run in on_runs.items():
            on_times[name].append(timed(run))
    r, a, b = median_turn(on_times, "on", "hand")
    a, b = per_decision(a, len(traced)), per_decision(b, len(traced))
    print(f"{'engine, trace on (evaluate):':38s} {a:6.1f} µs per decision, hand-written {b:5.2f} µs in the same turn: ratio {r:.1f}x")
    for name in on_runs:
        if name in ("hand", "on"):
            continue
        r, a, b = median_turn(on_times, "on", name)
        print(
            f"{name + ':':38s} {per_decision(b, len(traced)):6.1f} µs per decision, the engine with its trace "
            f"{per_decision(a, len(traced)):.1f} µs in the same turn: the engine takes {r:.2f}x its time"
        )

    sources = read_sources([rules])
    from policy_rules.api import analyse

    analyse(sources, "warm")
    load = median_time(args.repeat, lambda: load_policy(rules)) * 1000
    print(f"load and check rules/haringey (warm, in process): {load:.1f} ms")
    large_policy_figures(args.large_rules, 200, args.repeat)
    from benchmarks.bench_columnar import figures as columnar_figures

    if not columnar_figures(args.columnar_rows, min(args.repeat, 3)):
        return 1

    if not args.skip_cli:
        # As ``pip install`` does, compile the package first: a process that has to
        # compile every module from source measures the compiler, not the tool.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "policy_rules")], check=True)
        warm, cold, edited = check_process_times(rules, args.repeat)
        print(
            f"`policy-rules check rules/haringey` as a whole process: {warm * 1000:.0f} ms (files in the parse cache), "
            f"{cold * 1000:.0f} ms (cache off), {edited * 1000:.0f} ms (one file edited since the last check)"
        )
        register_figures(rules, args.register_rows, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
