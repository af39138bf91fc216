"""The ``lsp`` command: its arguments, and the server started over stdio.

Its place: ``policy_rules.cli`` adds the subcommand with ``add_lsp_parser``
and hands it to ``run_lsp``; pygls is imported only when the server starts.
"""

from __future__ import annotations

import argparse


def add_lsp_parser(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    sub = commands.add_parser(
        "lsp",
        help="the language server of rule files, for editors (over stdin and stdout)",
        description=(
            "Serve the Language Server Protocol over stdin and stdout for an editor: the diagnostics of `check` as you type, the findings of "
            "`analyse` on save, hover, go to definition, references, completion, rename, formatting, the outline and quick fixes. "
            "An editor starts it; see docs/editors.md."
        ),
        epilog="examples:\n  policy-rules lsp\n  policy-rules lsp --analyse-budget 3",
        formatter_class=fmt,
    )
    sub.add_argument("--stdio", action="store_true", help="talk over stdin and stdout (the only way; accepted because editors pass it)")
    sub.add_argument("--analyse-budget", type=float, default=10.0, metavar="SECONDS", help="stop the analysis run on save after this long (default: 10)")


def run_lsp(args: argparse.Namespace) -> int:
    from policy_rules.lsp.server import run

    run(args.analyse_budget)
    return 0
