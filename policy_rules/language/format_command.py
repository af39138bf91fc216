"""The ``fmt`` command: its arguments, and each file formatted, checked or shown.

Its place: ``policy_rules.cli`` adds the subcommand with ``add_fmt_parser``
(without loading the parser, which ``check`` skips when its cache answers)
and hands it to ``run_fmt``; the layout is ``language.format``'s. A file is
replaced whole or not at all (``safety.outputs``).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path


def add_fmt_parser(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    sub = commands.add_parser(
        "fmt",
        help="lay rule files out in the one canonical layout, keeping every comment",
        description=(
            "Rewrite the rule files in RULES (files, or folders read recursively) in the one canonical layout: indents, spaces, blank lines "
            "and comment columns; line breaks and comments stay where they are, and what the rules say never changes. Each file is replaced "
            "whole, or not at all. Exit status 0 formatted (or already so), 1 with --check when a file would change, 2 for a file with errors."
        ),
        epilog="examples:\n  policy-rules fmt rules/haringey\n  policy-rules fmt rules/ --check\n  policy-rules fmt rules/haringey/50-delivery.rules --diff",
        formatter_class=fmt,
    )
    sub.add_argument("rules", nargs="+", metavar="RULES", help="rule files or folders of them (read recursively)")
    sub.add_argument("--check", action="store_true", help="change nothing; list the files that would change, and exit 1 if any would")
    sub.add_argument("--diff", action="store_true", help="change nothing; print what would change, as a unified diff")


def run_fmt(args: argparse.Namespace) -> int:
    """Format, check or show each file; every file is tried, and the exit status is the worst of them."""
    from policy_rules.language.format import FormatError, format_text
    from policy_rules.language.loader import read_sources, rule_files
    from policy_rules.safety.escape import for_terminal
    from policy_rules.safety.outputs import write_whole

    changed = unchanged = failed = 0
    for path in args.rules:
        sources = read_sources([path])
        real = dict(rule_files(path))
        for shown, text in sources.items():
            try:
                formatted = format_text(text, shown)
            except FormatError as error:
                failed += 1
                print(str(error), file=sys.stderr)
                for diagnostic in error.diagnostics[:3]:
                    print(str(diagnostic), file=sys.stderr)
                continue
            if formatted == text:
                unchanged += 1
                continue
            changed += 1
            if args.diff:
                lines = difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True), shown, f"{shown} (formatted)")
                sys.stdout.write(for_terminal("".join(lines), keep_lines=True))
            if args.check or args.diff:
                print(for_terminal(f"would reformat {shown}"), file=sys.stderr)
            else:
                write_whole(real.get(shown, Path(shown)), formatted)
                print(for_terminal(f"formatted {shown}"), file=sys.stderr)
    verb = "would be reformatted" if args.check or args.diff else "reformatted"
    print(f"{changed} file{'s' * (changed != 1)} {verb}, {unchanged} already formatted" + (f", {failed} with errors" if failed else ""), file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0
