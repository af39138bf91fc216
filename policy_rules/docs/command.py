"""The ``docs`` command: its arguments, and the site written whole into the folder asked for.

Its place: ``policy_rules.cli`` adds the subcommand with ``add_docs_parser``
and hands it to ``run_docs``; ``site`` gathers and renders. Each page is
written atomically (``safety.outputs``), and the folder may not be one the
command reads from.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from policy_rules.errors import UsageError
from policy_rules.safety.escape import for_terminal

EXAMPLES = """examples:
  policy-rules docs rules/haringey --features features --cases cases/haringey --out site/
  policy-rules docs rules/hillingdon-dfg --features features/hillingdon_dfg --cases cases/hillingdon-dfg --out site-dfg/"""


def add_docs_parser(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    docs = commands.add_parser(
        "docs",
        help="write a static site: each cited document's sections, the rules citing them, and the tests of each rule",
        description=(
            "Write a static site for the policy in RULES into the folder --out: every section of each document the rules cite, with the "
            "facts, values and rules that cite it; every rule with the scenarios (--features DIR, run here with pytest) and case files "
            "(--cases DIR) that saw it applying and not applying, and their last result; and rule coverage. The pages need no network. "
            "Exit status 0 written, 2 for bad input."
        ),
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    docs.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    docs.add_argument("--features", metavar="DIR", help="a folder of .feature files whose scenarios exercise the rules (run from the current folder)")
    docs.add_argument("--cases", metavar="DIR", action="append", default=[], help="case files or folders of them (may be given more than once)")
    docs.add_argument("--out", required=True, metavar="DIR", help="the folder to write the site into (made if missing)")


def run_docs(args: argparse.Namespace) -> int:
    from policy_rules.api import load_policy
    from policy_rules.docs.scenarios import run_scenarios
    from policy_rules.docs.site import build_site, pages
    from policy_rules.safety.outputs import write_whole

    out = Path(args.out)
    inputs = [("RULES", args.rules), *(("--cases", c) for c in args.cases)] + ([("--features", args.features)] if args.features else [])
    for option, path in inputs:
        given = Path(path).resolve()
        if out.resolve() == given or given in out.resolve().parents or out.resolve() in given.parents:
            raise UsageError(f"the site would be written over or among what it reads ({option} {path}); choose another folder", "--out")
    if out.exists() and not out.is_dir():
        raise UsageError("this is a file, not a folder; give a folder to write the site into", args.out)
    policy = load_policy(args.rules)
    root = Path.cwd()
    scenarios = run_scenarios(Path(args.features), root) if args.features else []
    site = build_site(policy, Path(args.rules), list(args.cases), scenarios, date.today(), root)
    written = pages(site)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make this folder ({error.strerror})", args.out) from None
    for name, html in written.items():
        write_whole(out / name, html)
    failing = [r for r in site.runs if r.status in ("failed", "error")]
    print(for_terminal(f"wrote {len(written)} pages to {out / 'index.html'}: {site.covered} of {len(site.rules)} rules covered"), file=sys.stderr)
    if failing:
        print(f"note: {len(failing)} scenario{'s' * (len(failing) != 1)} or case{'s' * (len(failing) != 1)} failed; the site shows which", file=sys.stderr)
    return 0
