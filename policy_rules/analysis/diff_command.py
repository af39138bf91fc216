"""The ``diff`` command: its arguments, and which diff answers them.

Its place: ``policy_rules.cli`` adds the subcommand with ``add_diff_parser``
and hands it to ``run_diff``. With FACTS, the decision diff of
``analysis.diff`` over the register; without, the symbolic diff of
``analysis.symbolic_diff`` (every outcome change any service could see, each
with a witness). Output goes to standard output, escaped as it is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from policy_rules.safety.escape import for_terminal

if TYPE_CHECKING:
    from policy_rules.api import Policy

EXAMPLES = """examples:
  policy-rules diff rules/haringey-2025 rules/haringey examples/register.csv
  policy-rules diff old-rules/ rules/haringey examples/register.csv --format csv > changes.csv
  policy-rules diff old-rules/ rules/haringey examples/register.csv --exit-code || echo "decisions changed"
  policy-rules diff old-rules/ rules/haringey"""


def add_diff_parser(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    diff = commands.add_parser(
        "diff",
        help="what a new version of the rules changes: for a register's services, or for any service",
        description=(
            "Decide every service in FACTS with the rules in OLD_RULES and in NEW_RULES; list each service whose outcome, priority, "
            "element outcomes or needed facts change, with the rule that decided it before and after, and a summary of how many moved "
            "from which outcome to which. Without FACTS, list every change of outcome that some service could see, each with an example "
            "service. Exit status 0 (1 with --exit-code when something changed), 2 for bad input."
        ),
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    diff.add_argument("old", metavar="OLD_RULES", help="the rules before: a rule file or a folder of them")
    diff.add_argument("new", metavar="NEW_RULES", help="the rules after: a rule file or a folder of them")
    diff.add_argument("facts", nargs="?", metavar="FACTS", help="a register or facts file (CSV, JSON Lines, JSON or YAML); without it, the symbolic diff")
    diff.add_argument("--format", choices=("text", "json", "csv"), default="text", help="text, json, or csv: one row per changed service (default: text)")
    diff.add_argument("--as-of", metavar="YYYY-MM-DD", help="decide as at this date (default: the facts file's as_of, else today)")
    diff.add_argument("--exit-code", action="store_true", help="exit with status 1 when anything changed, as `git diff --exit-code` does")


def run_diff(args: argparse.Namespace) -> int:
    from policy_rules.api import load_policy

    old, new = load_policy(args.old), load_policy(args.new)
    changed = _register_diff(args, old, new) if args.facts is not None else _symbolic(args, old, new)
    return 1 if args.exit_code and changed else 0


def _register_diff(args: argparse.Namespace, old: Policy, new: Policy) -> bool:
    import itertools

    from policy_rules.analysis.diff import DiffSummary, DiffWriter, compare
    from policy_rules.registers.facts import FactsStream
    from policy_rules.values.dates import parse_as_of

    with FactsStream(args.facts, reads_as_of=True, known={*old.model.fact_types, *new.model.fact_types}) as stream:
        services = iter(stream)
        first = list(itertools.islice(services, 1))  # a whole file's top-level as_of is known once its first service is read
        as_of = parse_as_of(args.as_of if args.as_of is not None else stream.as_of)
        writer = DiffWriter(sys.stdout, args.format, old, new, as_of)
        for item in compare(old, new, itertools.chain(first, services), as_of):
            if isinstance(item, DiffSummary):
                writer.finish(item)
                return item.changed > 0
            writer.change(item)
    raise AssertionError("compare ends with its summary")


def _symbolic(args: argparse.Namespace, old: Policy, new: Policy) -> bool:
    from policy_rules.analysis.symbolic_diff import symbolic_diff
    from policy_rules.errors import UsageError

    if args.format == "csv":
        raise UsageError("the diff without FACTS lists outcome changes with example services; give --format text or json, or a FACTS file", "--format")
    if args.as_of is not None:
        raise UsageError("--as-of goes with a FACTS file; without one, each example service carries its own date", "--as-of")
    changes = symbolic_diff(old, new)
    if args.format == "json":
        sys.stdout.write(json.dumps({"changes": [c.to_dict() for c in changes]}, ensure_ascii=False, indent=2) + "\n")
    elif changes:
        sys.stdout.write("\n\n".join(for_terminal(c.text(), keep_lines=True) for c in changes) + "\n")
        print(f"{len(changes)} possible change{'s' * (len(changes) != 1)} of outcome", file=sys.stderr)
    else:
        print("no service can be decided differently by the two versions", file=sys.stderr)
    return bool(changes)
