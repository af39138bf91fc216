"""The ``analyse`` and ``whatif`` commands: their arguments and what they print.

Its place: ``policy_rules.cli`` adds these subcommands with ``add_parsers``
and hands a parsed command to ``run``; the work is in ``findings`` and
``whatif``. Everything shown passes through ``safety.escape``; witnesses
are written as case files (``docs/case-files.md``) with
``safety.outputs``, never over a rule file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from policy_rules.safety.escape import for_terminal

EXAMPLES = {
    "analyse": """examples:
  policy-rules analyse rules/haringey
  policy-rules analyse rules/hillingdon-dfg --format json
  policy-rules analyse rules/haringey --scenarios witnesses/""",
    "whatif": """examples:
  policy-rules whatif rules/haringey examples/facilities-management.yaml --target in_house
  policy-rules whatif rules/haringey examples/register.csv --target procure_local --format json""",
}


def add_parsers(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    analyse = commands.add_parser(
        "analyse",
        help="find rules that can conflict, never apply or never matter, gaps between dated values",
        description=(
            "Analyse the policy in RULES for every possible service: rules that can conflict (errors), rules or rows that can never apply "
            "or never change the outcome, parts of conditions that never matter, dates a parameter has no value for, facts kept for reference "
            "that rules read. Each finding is printed as PATH:LINE:COL: error|warning: MESSAGE with a witness service that shows it. "
            "Exit status 0 without errors, 1 with errors, 2 for bad rules or arguments."
        ),
        epilog=EXAMPLES["analyse"],
        formatter_class=fmt,
    )
    analyse.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    analyse.add_argument("--format", choices=("text", "json"), default="text", help="text, or json: one object per finding (default: text)")
    analyse.add_argument("--scenarios", metavar="DIR", help="write each witness as a case file in DIR, to run with `policy-rules test`")

    whatif = commands.add_parser(
        "whatif",
        help="the fewest changes to a service's facts that give an outcome",
        description=(
            "For each service in FACTS, the smallest set of changes to the facts it gives (each: fact, from, to) after which the policy in RULES "
            "decides the target outcome, or why there is none. Facts not given stay not given. Exit status 0 answered, 2 bad input."
        ),
        epilog=EXAMPLES["whatif"],
        formatter_class=fmt,
    )
    whatif.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    whatif.add_argument("facts", metavar="FACTS", help="a YAML, JSON or CSV file of one or more services")
    whatif.add_argument("--target", required=True, metavar="OUTCOME", help="the outcome wanted")
    whatif.add_argument("--as-of", metavar="YYYY-MM-DD", help="decide as at this date (default: the facts file's as_of, else today)")
    whatif.add_argument("--format", choices=("text", "json"), default="text", help="text, or json (default: text)")


def run(args: argparse.Namespace) -> int:
    if args.command == "analyse":
        return _analyse(args)
    return _whatif(args)


def _analyse(args: argparse.Namespace) -> int:
    from policy_rules.analysis.findings import analyse, shown_value
    from policy_rules.api import load_policy

    policy = load_policy(args.rules)
    findings = analyse(policy)
    written: dict[int, str] = {}
    if args.scenarios:
        written = _write_scenarios(findings, args.scenarios, args.rules)
    if args.format == "json":
        out = []
        for i, f in enumerate(findings):
            item = f.to_dict()
            item["scenario"] = written.get(i)
            out.append(item)
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        for i, f in enumerate(findings):
            print(for_terminal(f.line()))
            if f.witness is not None:
                facts = ", ".join(f"{k}: {shown_value(v)}" for k, v in f.witness.facts.items())
                print(for_terminal(f"  witness, as of {f.witness.as_of}: {facts or 'no facts'}"))
                print(for_terminal(f"  shows: {f.witness.shows}"))
            if i in written:
                print(for_terminal(f"  written to {written[i]}"))
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", file=sys.stderr)
    return 1 if errors else 0


def _write_scenarios(findings: list[Any], folder: str, rules: str) -> dict[int, str]:
    """Each witness as a case file ``NN-KIND-WHERE.yaml`` in ``folder``; the finding's line is its first comment."""
    import yaml  # here, not at the top: every command builds its parser from this module, and only this one writes YAML

    from policy_rules.safety.outputs import refuse_overwriting_inputs, write_whole

    Path(folder).mkdir(parents=True, exist_ok=True)
    written: dict[int, str] = {}
    planned = []
    for i, f in enumerate(findings):
        if f.witness is None:
            continue
        where = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{Path(f.span.path).stem}-{f.span.line}").strip("-")
        planned.append((i, str(Path(folder) / f"{len(planned) + 1:02d}-{f.kind}-{where}.yaml")))
    refuse_overwriting_inputs([("--scenarios", path) for _i, path in planned], [("a rule file", rules)])
    for i, path in planned:
        f = findings[i]
        case = f.witness.case(f"{f.kind} at {f.span}: {f.witness.shows}")
        header = "".join(f"# {line}\n" for line in f.line().splitlines())
        write_whole(path, header + yaml.safe_dump(case, sort_keys=False, allow_unicode=True))
        written[i] = path
    return written


def _whatif(args: argparse.Namespace) -> int:
    from policy_rules.analysis.whatif import whatif
    from policy_rules.api import load_policy
    from policy_rules.registers.facts import read_facts_file
    from policy_rules.values.dates import parse_as_of

    policy = load_policy(args.rules)
    facts_file = read_facts_file(args.facts, known=policy.model.fact_types)
    as_of = parse_as_of(args.as_of if args.as_of is not None else facts_file.as_of)
    answers = [whatif(policy, s.raw, args.target, as_of, path=s.path, index=s.index) for s in facts_file.services]
    if args.format == "json":
        data: Any = [a.to_dict() for a in answers]
        sys.stdout.write(json.dumps(data[0] if facts_file.single else data, indent=2, ensure_ascii=False) + "\n")
    else:
        print("\n".join(for_terminal(a.text(), keep_lines=True) for a in answers))
    return 0
