"""The ``policy-rules`` command line: check, evaluate, explain.

Every user error is printed as a message with its location, never a
traceback: exit status 1 from ``check`` for errors in rule files, 2 for any
other problem a user can cause, 3 (with one line asking for a bug report) for
a failure inside policy_rules itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from policy_rules import __version__
from policy_rules.errors import PolicyError, RuleFileError

BUG_REPORT = "this is a bug in policy_rules; please report it with the command you ran and the files you gave it"

EXAMPLES = {
    "check": """examples:
  policy-rules check rules/haringey
  policy-rules check rules/haringey/30-exceptions.rules rules/haringey/50-delivery.rules""",
    "evaluate": """examples:
  policy-rules evaluate rules/haringey examples/facilities-management.yaml
  policy-rules evaluate rules/haringey examples/register.csv --format json
  policy-rules evaluate rules/haringey examples/missing-facts.yaml --as-of 2020-03-31""",
    "explain": """examples:
  policy-rules explain rules/haringey examples/facilities-management.yaml""",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-rules",
        description="Check policy rule files, and decide services with them, explaining why.",
        epilog="\n\n".join(EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"policy-rules {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="parse and check rule files or folders", epilog=EXAMPLES["check"], formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("rules", nargs="+", metavar="RULES", help="rule files or folders of them")

    for name, text in (("evaluate", "decide every service in a facts file"), ("explain", "decide and print the whole explanation trace")):
        sub = commands.add_parser(name, help=text, epilog=EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
        sub.add_argument("facts", metavar="FACTS", help="a YAML, JSON or CSV file of one or more services")
        sub.add_argument("--as-of", metavar="YYYY-MM-DD", help="decide as at this date (parameters take the value in force then); default today")
        if name == "evaluate":
            sub.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format (default: text)")
    return parser


def _check(paths: Sequence[str]) -> int:
    from policy_rules.api import _read_sources, analyse
    from policy_rules.checker import default_title

    sources = _read_sources(paths)
    _model, diagnostics = analyse(sources, default_title(paths[0]))
    for d in diagnostics:
        print(d.format())
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    print(f"{len(sources)} file{'s' * (len(sources) != 1)} checked: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", file=sys.stderr)
    return 1 if errors else 0


def _decide(args: argparse.Namespace, explain: bool) -> int:
    from policy_rules.api import _as_of, load_policy
    from policy_rules.facts import read_facts_file
    from policy_rules.render import explain_text, markdown_report, summary_text, to_json

    policy = load_policy(args.rules)
    as_of = _as_of(args.as_of)
    facts_file = read_facts_file(args.facts)
    decisions = [policy.evaluate(s.raw, as_of, path=s.path, index=s.index) for s in facts_file.services]
    fmt = "text" if explain else args.format
    if fmt == "json":
        sys.stdout.write(to_json(decisions, single=facts_file.single))
    elif fmt == "markdown":
        sys.stdout.write("\n---\n\n".join(markdown_report(d) for d in decisions))
    elif explain:
        sys.stdout.write("\n\n".join(explain_text(d) for d in decisions))
    else:
        sys.stdout.write("\n\n".join(summary_text(d) for d in decisions) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.rules)
        return _decide(args, explain=args.command == "explain")
    except RuleFileError as error:
        print(str(error), file=sys.stderr)
        return 1 if args.command == "check" else 2
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # a failure inside policy_rules: one line, never a traceback
        print(f"internal error ({type(error).__name__}): {BUG_REPORT}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
