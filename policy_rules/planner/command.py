"""``policy-rules plan``: its arguments and its run, kept beside the planner so the command line only names them.

Errors are ``PolicyError`` values that ``policy_rules.cli.main`` prints with
exit status 2; a plan is written whole (``safety/outputs.py``) or printed.
"""

from __future__ import annotations

import argparse
import sys

ROLES = ("contract_end", "staff", "annual_spend", "in_house_cost")


def add_plan_parser(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter], examples: str) -> None:
    """The ``plan`` subcommand's parser, in the style of the others: help, examples, every option described."""
    sub = commands.add_parser(
        "plan",
        help="plan the insourcing programme: which services move in-house in which quarter",
        description=(
            "Decide every service in REGISTER with the policy in RULES, and schedule those the rules bring in-house "
            "(in_house, in_house_phased, and the in-house parts of hybrid services) quarter by quarter: never before "
            "the quarter a service's contract ends in, phased services after a preparation period, within the staff the "
            "council can take on per quarter and the added yearly cost it can absorb per programme year. High-priority "
            "services go as early as possible, then standard ones, with as few contracts as possible run past their end. "
            "Every service is listed once with its quarter (or none) and why. Needs OR-Tools: pip install 'policy-rules[plan]'. "
            "Exit status 0 when planned (a service that cannot be scheduled is listed with why), 2 for bad rules, register or arguments."
        ),
        epilog=examples,
        formatter_class=fmt,
    )
    sub.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    sub.add_argument("register", metavar="REGISTER", help="the register: a YAML, JSON or CSV facts file of the services")
    sub.add_argument("--start", metavar="YYYY-MM", help="the month the programme starts in, or YYYY-Q1 (default: the quarter of --as-of)")
    sub.add_argument("--quarters", metavar="N", type=int, default=12, help="how many quarters the programme runs (default: 12)")
    sub.add_argument("--staff-per-quarter", metavar="N", type=int, help="the most staff the council can take on in one quarter (default: no limit)")
    sub.add_argument("--budget-per-year", metavar="MONEY", help="the added yearly cost the council can absorb a programme year, in pounds (default: no limit)")
    sub.add_argument("--preparation", metavar="N", type=int, default=2, help="quarters a phased service spends building skills before it moves (default: 2)")
    sub.add_argument("--as-of", metavar="YYYY-MM-DD", help="decide the services as at this date (default: the register's as_of, else today)")
    sub.add_argument("--format", choices=("text", "json", "csv", "html"), default="text", help="how to show the plan (default: text)")
    sub.add_argument("--output", metavar="FILE", help="write the plan to FILE instead of printing it (written whole, never over an input)")
    sub.add_argument("--time-limit", metavar="S", type=float, default=20.0, help="seconds the solver may take; the plan says if it is optimal (default: 20)")
    sub.add_argument(
        "--fact",
        metavar="ROLE=NAME",
        action="append",
        default=[],
        help=f"the policy's own name for a fact the plan reads; ROLE is one of {', '.join(ROLES)} (default: the Haringey names)",
    )


def run_plan(args: argparse.Namespace) -> int:
    """Plan and show; every problem a user can cause is a ``PolicyError``."""
    from policy_rules.api import plan
    from policy_rules.errors import UsageError
    from policy_rules.planner import report as render
    from policy_rules.planner.plan import PlanNames
    from policy_rules.safety.escape import for_terminal
    from policy_rules.safety.outputs import refuse_overwriting_inputs, write_whole

    names = _names(args.fact, PlanNames, UsageError)
    if args.output is not None:
        refuse_overwriting_inputs([("--output", args.output)], [("the register", args.register), ("a rule file", args.rules)])
    made = plan(
        args.rules,
        args.register,
        start=args.start,
        quarters=args.quarters,
        staff_per_quarter=args.staff_per_quarter,
        budget_per_year=args.budget_per_year,
        preparation_quarters=args.preparation,
        as_of=args.as_of,
        time_limit=args.time_limit,
        names=names,
    )
    shown = {"text": render.to_text, "json": render.to_json, "csv": render.to_csv, "html": render.to_html}[args.format](made)
    if args.output is None:
        sys.stdout.write(shown)
        return 0
    write_whole(args.output, shown)
    print(for_terminal(f"plan written to {args.output}: {len(made.scheduled)} services scheduled, {made.status}"), file=sys.stderr)
    return 0


def _names(pairs: list[str], names_type: type, error: type) -> object:
    chosen: dict[str, str] = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        if not sep or role.strip() not in ROLES or not name.strip():
            raise error(f"`{pair}` is not ROLE=NAME with ROLE one of {', '.join(ROLES)}", "--fact")
        chosen[role.strip()] = name.strip()
    return names_type(**chosen)
