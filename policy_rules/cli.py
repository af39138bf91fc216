"""The ``policy-rules`` command line: check, evaluate, explain, and compile (the generated Python, for whoever debugs the engine).

Every user error is printed as a message with its location, never a
traceback: exit status 1 from ``check`` for errors in rule files, 2 for any
other problem a user can cause, 3 (with one line asking for a bug report) for
a failure inside policy_rules itself. Colour and progress bars appear only on
a terminal; ``--no-color`` and ``NO_COLOR`` turn colour off.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import IO, TYPE_CHECKING, NoReturn

from policy_rules import __version__
from policy_rules.errors import PolicyError, RuleFileError, UsageError
from policy_rules.safety.escape import for_terminal

if TYPE_CHECKING:
    from policy_rules.api import Policy

BUG_REPORT = "this is a bug in policy_rules; please report it with the command you ran and the files you gave it"

EXAMPLES = {
    "check": """examples:
  policy-rules check rules/haringey
  policy-rules check rules/haringey/30-exceptions.rules rules/haringey/50-delivery.rules""",
    "evaluate": """examples:
  policy-rules evaluate rules/haringey examples/facilities-management.yaml
  policy-rules evaluate rules/haringey examples/facilities-management.yaml --format markdown > report.md
  policy-rules evaluate rules/haringey examples/missing-facts.yaml --as-of 2020-03-31 --format json
  policy-rules evaluate rules/haringey examples/register.csv --output decisions.csv --report summary.html""",
    "explain": """examples:
  policy-rules explain rules/haringey examples/facilities-management.yaml""",
    "test": """examples:
  policy-rules test rules/haringey cases/haringey
  policy-rules test rules/haringey cases/haringey/priority.yaml -k high
  policy-rules test rules/haringey cases/haringey --format json > results.json""",
    "compile": """examples:
  policy-rules compile rules/haringey
  policy-rules compile rules/haringey --mode traced > traced.py""",
    "plan": """examples:
  policy-rules plan rules/haringey examples/insourcing-register.csv --start 2027-04 --staff-per-quarter 60 --budget-per-year 1500000
  policy-rules plan rules/haringey examples/insourcing-register.csv --start 2027-04 --format html --output plan.html
  policy-rules plan rules/haringey register.csv --format csv --output plan.csv --fact staff=headcount""",
    "serve": """examples:
  policy-rules serve rules/haringey
  policy-rules serve rules/haringey --port 8080 --db postgresql://rules@localhost/decisions
  policy-rules serve rules/haringey --allow-editing   # officers may save rules from the workbench
  POLICY_RULES_TOKENS="caseworks=$(cat token.txt)" policy-rules serve rules/haringey --host 0.0.0.0""",
    "register": """examples:
  policy-rules register list --outcome procure --since 2026-01-01
  policy-rules register show 42
  policy-rules register replay
  policy-rules register export --output decisions.csv
  policy-rules register saves 3        # who saved rule files from the workbench, and the diff""",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports unusable arguments in one line, with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"policy-rules: error: {message}; see `{self.prog} --help`\n")


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="policy-rules",
        description="Check policy rule files, and decide services with them, explaining why.",
        epilog="\n\n".join(EXAMPLES.values()),
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"policy-rules {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser(
        "check",
        help="parse and check rule files or folders",
        description="Parse and check rule files or folders; print every error and warning.",
        epilog=EXAMPLES["check"],
        formatter_class=fmt,
    )
    check.add_argument("rules", nargs="+", metavar="RULES", help="rule files or folders of them (read recursively)")

    helps = {
        "evaluate": ("decide every service in a facts file", "Decide every service in a facts file (YAML, JSON or CSV) with the policy in RULES."),
        "explain": (
            "decide and print the whole explanation trace",
            "Decide every service in a facts file and print the whole explanation: every rule considered, what it read, why it did or did not apply.",
        ),
    }
    for name, (short, long) in helps.items():
        sub = commands.add_parser(name, help=short, description=long, epilog=EXAMPLES[name], formatter_class=fmt)
        sub.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
        sub.add_argument("facts", metavar="FACTS", help="a YAML, JSON or CSV file of one or more services")
        sub.add_argument("--as-of", metavar="YYYY-MM-DD", help="decide as at this date (parameters take the value in force then); default: today")
        sub.add_argument("--no-color", action="store_true", help="no colour, even on a terminal (the NO_COLOR variable does the same)")
        if name == "evaluate":
            sub.add_argument("--format", choices=("text", "json", "markdown", "html"), default="text", help="how to print each decision (default: text)")
            sub.add_argument(
                "--output", metavar="FILE", help="write the decisions to FILE (.csv, .jsonl, .json or .parquet) and print a summary of the register instead"
            )
            sub.add_argument("--report", metavar="FILE", help="with --output: also write a summary report (.md or .html) with a chart of spend by outcome")
            sub.add_argument("--spend", metavar="FACT", help="the money fact that gives a service's annual spend in summaries (default: annual_spend)")
            sub.add_argument("--with-trace", action="store_true", help="with --output to .jsonl or .json: include each decision's trace")
            sub.add_argument(
                "--record",
                metavar="DB",
                help="also record each decision with its trace in the decision register DB (a file or a postgresql:// URL)",
            )
            sub.add_argument("--by", metavar="WHO", help="with --record: who the register says made the decisions (default: cli:USER)")
            sub.add_argument(
                "--jobs",
                metavar="N",
                type=_jobs,
                help="with --output: decide the register in N processes (0 or auto: one per core); the decisions file is the same (default: 1)",
            )
            sub.add_argument(
                "--cluster",
                metavar="ADDRESS",
                help="with --output: decide the register on a Dask cluster (a tcp://HOST:PORT scheduler; needs '.[cluster]'); the same decisions file",
            )

    test = commands.add_parser(
        "test",
        help="run case files: facts and the decision expected for them",
        description=(
            "Decide every case in the case files (YAML or JSON) with the policy in RULES and compare with what each case expects; "
            "print each failing case, expected against found, and a last line `N passed, N failed`. "
            "Exit status 0 when every case passes, 1 when any fails, 2 for bad rules or case files."
        ),
        epilog=EXAMPLES["test"],
        formatter_class=fmt,
    )
    test.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    test.add_argument("cases", nargs="+", metavar="CASES", help="case files or folders of them (read recursively)")
    test.add_argument("-k", metavar="TEXT", dest="select", help="run only the cases whose name contains TEXT (any case of letters)")
    test.add_argument("-v", "--verbose", action="store_true", help="also list each case that passes")
    test.add_argument("--format", choices=("text", "json"), default="text", help="text, or json: one object per case, for CI (default: text)")

    compile_ = commands.add_parser(
        "compile",
        help="print the Python the engine generates for a policy (for debugging the engine)",
        description=(
            "Print the Python source the engine generates for the policy in RULES, in one mode (two_valued: decisions "
            "without a trace, every fact known; traced: the explanation recorded; columnar: a batch of services as Arrow "
            "columns). Names in it are numbered and every "
            "name, string and value of the rule files is an index into a table of constants (K[n], cn) passed in when "
            "the source is run, so no text of a rule file appears in it."
        ),
        epilog=EXAMPLES["compile"],
        formatter_class=fmt,
    )
    compile_.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    # The modes are written out, not imported from the engine, which every command would then load to print its help.
    compile_.add_argument("--mode", metavar="MODE", default="two_valued", help="one of two_valued, traced, columnar (default: two_valued)")
    from policy_rules.analysis.commands import add_parsers as add_analysis_parsers

    add_analysis_parsers(commands, fmt)
    from policy_rules.analysis.diff_command import add_diff_parser

    add_diff_parser(commands, fmt)
    from policy_rules.language.format_command import add_fmt_parser

    add_fmt_parser(commands, fmt)
    from policy_rules.lsp.command import add_lsp_parser

    add_lsp_parser(commands, fmt)
    from policy_rules.docs.command import add_docs_parser

    add_docs_parser(commands, fmt)
    from policy_rules.planner.command import add_plan_parser

    add_plan_parser(commands, fmt, EXAMPLES["plan"])
    _service_parsers(commands, fmt)
    return parser


def _service_parsers(commands: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """``serve`` and ``register``: the decision service and its register (``policy_rules.service``, ``policy_rules.store``)."""
    from policy_rules.service.arguments import byte_count, count, default_threads, host_name, origin, positive, seconds

    db_help = "the decision register: a SQLite file or a postgresql:// URL (default: ./policy-rules.db)"
    serve = commands.add_parser(
        "serve",
        help="run the REST API (and its decision register)",
        description=(
            "Serve the policy in RULES over HTTP (JSON; OpenAPI at /openapi.json) and record decisions in the register. "
            "Listens on 127.0.0.1 unless --host says otherwise; beyond loopback, bearer tokens are required "
            "(--tokens FILE or the POLICY_RULES_TOKENS variable, lines NAME=TOKEN) and the register says who recorded each decision."
        ),
        epilog=EXAMPLES["serve"],
        formatter_class=fmt,
    )
    serve.add_argument("rules", metavar="RULES", help="a rule file or a folder of them")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on (default: 8000)")
    serve.add_argument("--db", metavar="URL", help=db_help)
    serve.add_argument("--tokens", metavar="FILE", help="a file of NAME=TOKEN lines: the bearer tokens the register accepts")
    serve.add_argument("--max-body", metavar="BYTES", type=byte_count, default=1_048_576, help="the largest request body, in bytes (or 512k, 4M; default: 1M)")
    serve.add_argument("--max-batch", metavar="N", type=positive, default=1000, help="the most services one batch may hold (default: 1000)")
    serve.add_argument(
        "--max-record",
        metavar="BYTES",
        type=byte_count,
        default=4 * 1_048_576,
        help="the most one recorded decision may take in the register (its facts and decision, with a compact trace), or it is refused with 413 (default: 4M)",
    )
    serve.add_argument(
        "--threads",
        metavar="N",
        type=positive,
        default=default_threads(),
        help=f"requests decided, checked or planned at once, off the event loop (default: one per core, here {default_threads()})",
    )
    serve.add_argument(
        "--queue", metavar="N", type=count, default=64, help="more requests that may wait for a thread; beyond, 503 with Retry-After (default: 64)"
    )
    serve.add_argument(
        "--time-limit",
        metavar="SECONDS",
        type=seconds,
        default=30.0,
        help="how long one request's work may take before it is answered 503 and nothing is recorded (default: 30)",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request on stderr (tokens in addresses are hidden)")
    serve.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        default=[],
        type=host_name,
        help="another name the server is reached by, behind a proxy (repeatable); requests addressed to other names are refused",
    )
    serve.add_argument(
        "--allow-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        type=origin,
        help="a web page's origin (https://host:port) that may record, save and read the register, with CORS headers (repeatable)",
    )
    serve.add_argument(
        "--allow-editing",
        action="store_true",
        help=(
            "let the workbench save draft rules over the rule files (checked first; each save recorded in the register "
            "with who saved and why; without --tokens the server makes a token and prints the address to open)"
        ),
    )

    register = commands.add_parser(
        "register",
        help="list, show, replay and export recorded decisions; the rule saves",
        description="Read the decision register that `serve` and `evaluate --record` write. Nothing here changes a recorded decision.",
        epilog=EXAMPLES["register"],
        formatter_class=fmt,
    )
    actions = register.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    listing = actions.add_parser("list", help="recorded decisions, newest first", formatter_class=fmt)
    listing.add_argument("--service", help="only this service's decisions")
    listing.add_argument("--outcome", help="only decisions with this outcome")
    listing.add_argument("--since", metavar="DATE", help="only decisions recorded since this date or time (UTC)")
    listing.add_argument("--limit", type=positive, default=100, help="at most this many (default: 100)")
    show = actions.add_parser("show", help="one recorded decision, with its facts and overrides", formatter_class=fmt)
    show.add_argument("id", type=positive, metavar="ID", help="the decision's id")
    replay = actions.add_parser(
        "replay", help="decide recorded decisions again with their own rules and confirm the same result (exit 1 if any differs)", formatter_class=fmt
    )
    replay.add_argument("ids", nargs="*", type=positive, metavar="ID", help="the decisions to replay (default: all)")
    export = actions.add_parser("export", help="every recorded decision to a CSV or JSON Lines file", formatter_class=fmt)
    export.add_argument("--output", required=True, metavar="FILE", help="the file to write (.csv or .jsonl)")
    saves = actions.add_parser(
        "saves", help="rule files saved from the workbench: who, when, which files, why; with an ID, what that save changed", formatter_class=fmt
    )
    saves.add_argument("id", type=positive, nargs="?", metavar="ID", help="one save, shown with a diff of its files")
    saves.add_argument("--limit", type=positive, default=100, help="at most this many (default: 100)")
    for sub in (listing, show, replay, export, saves):
        sub.add_argument("--db", metavar="URL", help=db_help)
    for sub in (listing, show, saves):
        sub.add_argument("--format", choices=("text", "json"), default="text", help="text, or json (default: text)")


def _service_command(args: argparse.Namespace) -> int:
    from policy_rules.service.runner import serve
    from policy_rules.store import commands

    if args.command == "serve":
        return serve(args)
    actions = {
        "list": commands.list_command,
        "show": commands.show_command,
        "replay": commands.replay_command,
        "export": commands.export_command,
        "saves": commands.saves_command,
    }
    return actions[args.action](args)


def _jobs(value: str) -> int:
    from policy_rules.registers.register import jobs_wanted

    try:
        return jobs_wanted(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{value}` is not a number of processes; give a whole number, or auto") from None


def _color(args: argparse.Namespace, stream: IO[str]) -> bool:
    return not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ and stream.isatty()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what the user needs to know: how far the run got and what was (not) written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Signals:
    """The first SIGINT or SIGTERM stops the run; any later one is ignored, so clean-up is never cut short."""

    fired: int | None = None
    armed = False

    @classmethod
    def install(cls) -> None:
        cls.armed = True
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, cls.handle)

    @classmethod
    def handle(cls, number: int, _frame: FrameType | None) -> None:
        if cls.fired is not None or not cls.armed:
            return
        cls.fired = number
        raise KeyboardInterrupt


def _check(paths: Sequence[str]) -> int:
    """Every policy in the files and folders named, checked on its own; a folder of policy folders is listed policy by policy."""
    from policy_rules.language.checker import default_title
    from policy_rules.language.loader import analyse, policies, read_sources, refuse_one_file_of_a_policy

    sources = read_sources(paths)
    refuse_one_file_of_a_policy(paths, sources)
    groups = policies(sources)
    errors = warnings = 0
    for home, group in groups:
        model, diagnostics = analyse(group, default_title(home or paths[0]))
        for d in diagnostics:
            print(d.format())
        found = sum(d.severity == "error" for d in diagnostics)
        errors += found
        warnings += len(diagnostics) - found
        if len(groups) > 1:
            title = f'policy "{model.title}"' if model is not None else "a policy"
            print(for_terminal(f"{home or paths[0]}: {title}, {_counted(len(group), found, len(diagnostics) - found)}"), file=sys.stderr)
    also = f" in {len(groups)} policies" if len(groups) > 1 else ""
    print(_counted(len(sources), errors, warnings, also), file=sys.stderr)
    return 1 if errors else 0


def _counted(files: int, errors: int, warnings: int, also: str = "") -> str:
    return f"{files} file{'s' * (files != 1)} checked{also}: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def _date_matters(policy: Policy) -> bool:
    """Whether the date of a decision can change it: the policy has dated parameters, or reads `today` (found in its text, strings and comments left out)."""
    import re

    if policy.model.parameters:
        return True
    code = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')
    return any(re.search(r"\btoday\b", code.sub(" ", text)) for text in policy.model.sources.values())


def _test(args: argparse.Namespace) -> int:
    """Case files run against a policy: each failing case printed, then `N passed, N failed`; 2 when the rules or a case file cannot be used."""
    from datetime import date

    from policy_rules.api import load_policy
    from policy_rules.testing import cases as c

    policy = load_policy(args.rules)
    found: list[c.Case] = []
    problems: list[PolicyError] = []
    for path in c.case_files(args.cases):
        try:
            found.extend(c.read_cases(path))
        except PolicyError as error:
            problems.append(error)
    if problems:
        for error in problems:
            print(str(error), file=sys.stderr)
        print(f"{len(problems)} case file{'s' * (len(problems) != 1)} cannot be used; no case was run", file=sys.stderr)
        return 2
    chosen = c.selected(found, args.select)
    if not chosen:
        raise UsageError(f"no case's name contains `{args.select}`; {len(found)} cases were read", "-k")
    today = date.today()
    results = []
    for case in chosen:
        result = c.run_case(policy, case, today)
        results.append(result)
        if args.format == "text" and result.status != "passed":
            print(c.failure_text(policy, result) + "\n")
        elif args.format == "text" and args.verbose:
            print(for_terminal(f"passed {case.path}: {case.name}"))
    undated = sum(r.case.as_of is None for r in results)
    if undated and _date_matters(policy):
        print(f"note: {undated} case{'s' * (undated != 1)} without `as_of` decided as at {today.isoformat()} (today)", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(c.results_json(policy, results))
    print(c.tally(results), file=sys.stderr if args.format == "json" else sys.stdout)
    if any(r.status == "error" for r in results):
        return 2
    return 1 if any(r.status == "failed" for r in results) else 0


def _compile(args: argparse.Namespace) -> int:
    """The generated source of one mode, as Jinja2's ``compile(raw=True)`` gives a template's: what the engine runs, with a line saying which."""
    from policy_rules.api import load_policy
    from policy_rules.engine.codegen import MODES

    if args.mode not in MODES:
        raise UsageError(f"there is no mode `{args.mode}`; the modes are {', '.join(MODES)}", "--mode")
    policy = load_policy(args.rules)
    sys.stdout.write(f"# policy-rules compile, mode {args.mode}, policy {policy.info.digest}\n{policy.source(args.mode)}")
    return 0


def _decide(args: argparse.Namespace, explain: bool) -> int:
    from policy_rules.api import load_policy
    from policy_rules.registers.facts import read_facts_file
    from policy_rules.values.dates import parse_as_of

    if not explain and args.output is None and (args.report or args.with_trace or args.jobs is not None or args.cluster is not None):
        raise UsageError("--report, --with-trace, --jobs and --cluster go with --output FILE", "arguments")
    if not explain and args.output is not None and args.record is not None:
        raise UsageError("--record records decisions printed here; give it without --output", "--record")
    if not explain and args.by is not None and args.record is None:
        raise UsageError("--by names who recorded the decisions; it goes with --record DB", "--by")
    if not explain and args.output is not None:
        _refuse_unsafe_outputs(args)
        return _register(args)
    policy = load_policy(args.rules)
    as_of = parse_as_of(args.as_of) if args.as_of is not None else None
    facts_file = read_facts_file(args.facts, known=policy.model.fact_types)
    from policy_rules.renderers import reports as render

    if as_of is None:
        as_of = parse_as_of(facts_file.as_of)
        if facts_file.as_of is None and _date_matters(policy):
            note = f"decided as at {as_of.isoformat()} (today): neither --as-of nor an `as_of` in the facts file gives the date"
            if explain or args.format == "text":
                print(f"Note: {note}\n")
            else:
                print(f"note: {note}", file=sys.stderr)

    decisions = []
    failures: list[PolicyError] = []
    services = facts_file.services
    given = []
    try:
        for s in services:
            try:
                decisions.append(policy.evaluate(s.raw, as_of, path=s.path, index=s.index))
                given.append(s.raw)
            except PolicyError:
                if facts_file.single:
                    raise
                failures.append(sys.exc_info()[1])  # type: ignore[arg-type]
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after {len(decisions) + len(failures):,} of {len(services):,} services; no decisions were printed") from None
    if not explain and args.record is not None:
        from policy_rules.store.commands import record_decisions

        print(record_decisions(args.record, policy, list(zip(decisions, given, strict=True)), args.by), file=sys.stderr)
    fmt = "text" if explain else args.format
    color = _color(args, sys.stdout)
    if not decisions:
        pass
    elif fmt == "json":
        sys.stdout.write(render.to_json(decisions, single=facts_file.single))
    elif fmt == "markdown":
        sys.stdout.write("\n---\n\n".join(render.markdown_report(d) for d in decisions))
    elif fmt == "html":
        sys.stdout.write("".join(render.html_report(d) for d in decisions))
    elif explain:
        sys.stdout.write("\n\n".join(render.explain_text(d, color=color) for d in decisions))
    else:
        sys.stdout.write("\n\n".join(render.summary_text(d, color=color) for d in decisions) + "\n")
    if not failures:
        return 0
    sys.stdout.flush()
    for error in failures:
        print(str(error), file=sys.stderr)
    print(
        f"{len(decisions):,} of {len(services):,} services decided; {len(failures):,} could not be decided (see the message{'s' * (len(failures) != 1)} above)",
        file=sys.stderr,
    )
    return 2


def _refuse_unsafe_outputs(args: argparse.Namespace) -> None:
    """Before anything is read: outputs of a kind that can be written, none of them an input or each other."""
    from pathlib import Path

    from policy_rules.registers.columns import output_kind
    from policy_rules.registers.register import decisions_kind
    from policy_rules.safety.outputs import refuse_overwriting_inputs

    (output_kind if args.output.lower().endswith(".parquet") else decisions_kind)(args.output)
    outputs = [("--output", args.output)]
    if args.report is not None:
        report_kind = Path(args.report).suffix.lower()
        if report_kind not in (".md", ".html", ".htm"):
            raise UsageError(f"cannot write a report to a `{report_kind or 'file without an ending'}` file; use .md or .html", "--report")
        outputs.append(("--report", args.report))
    refuse_overwriting_inputs(outputs, [("the facts file", args.facts), ("a rule file", args.rules)])


def _register(args: argparse.Namespace) -> int:
    """A register decided as it is read and written as decided; in ``--jobs`` processes, from the rules' text read here once."""
    from policy_rules.api import load_policy, policy_from_sources
    from policy_rules.language.checker import default_title
    from policy_rules.language.loader import read_sources
    from policy_rules.registers.columns import ColumnRegister, ColumnWriter, arrow_memory_returned, arrow_without_pandas, reads_in_columns, run_columns
    from policy_rules.registers.facts import FactsStream
    from policy_rules.registers.register import DecisionWriter, Progress, Workers, decisions_kind, run_register, spend_fact_of
    from policy_rules.renderers import reports as render
    from policy_rules.safety.outputs import AtomicFile
    from policy_rules.values.dates import parse_as_of

    jobs = args.jobs or 1
    if args.cluster is None:
        arrow_without_pandas()
    arrow_memory_returned()
    workers = None
    if jobs > 1 or args.cluster is not None:
        sources = read_sources([args.rules])
        policy = policy_from_sources(sources, default_title(args.rules))
    else:
        policy = load_policy(args.rules)
    as_of = parse_as_of(args.as_of)
    spend_fact = spend_fact_of(policy, args.spend)
    if jobs > 1 and not reads_in_columns(args.facts, args.output, args.with_trace) and args.cluster is None:
        workers = Workers(jobs, policy_from_sources, sources, default_title(args.rules), as_of, spend_fact, decisions_kind(args.output), args.with_trace)
    decider = None
    if args.cluster is not None:
        from policy_rules.cluster import on_cluster

        decider = on_cluster(args.cluster, sources, default_title(args.rules), as_of)
    elif jobs > 1:
        from policy_rules.cluster import in_processes

        decider = in_processes(jobs, sources, default_title(args.rules), as_of)
    errors_shown = 0

    def on_error(message: str) -> None:
        nonlocal errors_shown
        errors_shown += 1
        if errors_shown <= 20:
            print(message, file=sys.stderr)
        elif errors_shown == 21:
            print("... more services that could not be decided; the summary counts them all and the decisions file has a row for each", file=sys.stderr)

    writer: DecisionWriter | ColumnWriter | None = None
    report: AtomicFile | None = None
    in_columns = reads_in_columns(args.facts, args.output, args.with_trace) or args.cluster is not None
    with FactsStream(args.facts, known=policy.model.fact_types) as services:
        progress = Progress(services.size, lambda: services.bytes_read)
        try:
            if in_columns:
                register = ColumnRegister(args.facts, policy)
                progress = Progress(register.size, lambda: register.bytes_read)
                writer = ColumnWriter(args.output, policy, as_of, spend_fact)
                summary = run_columns(policy, register, as_of, writer=writer, spend_fact=spend_fact, progress=progress, on_error=on_error, decider=decider)
            else:
                writer = DecisionWriter(args.output, args.with_trace)
                summary = run_register(policy, services, as_of, writer=writer, spend_fact=spend_fact, progress=progress, on_error=on_error, workers=workers)
            progress.finish()
            if args.report is not None:
                report = AtomicFile(args.report)
                report.file.write(render.summary_html(summary) if args.report.lower().endswith((".html", ".htm")) else render.summary_markdown(summary))
            writer.close()
            if report is not None:
                report.commit()
        except KeyboardInterrupt:
            done = writer.count if writer is not None else 0
            _discard(writer, report)
            progress.finish()  # the message starts on a line of its own, not after the bar
            also = f" or {args.report}" if args.report is not None else ""
            of = f" of {services.count:,}" if services.finished else ""  # a register is read as it is decided: its length is known only at its end
            raise Interrupted(f"interrupted after {done:,}{of} services; nothing was written to {args.output}{also}") from None
        except OSError as error:
            _discard(writer, report)
            raise UsageError(f"cannot write this file ({error.strerror}); nothing was written", args.output if report is None else args.report) from None
        except BaseException:
            _discard(writer, report)
            progress.finish()
            raise
    sys.stdout.write(render.summary_lines(summary, color=_color(args, sys.stdout)))
    print(f"decisions written to {for_terminal(args.output)}", file=sys.stderr)
    if report is not None:
        print(f"summary report written to {for_terminal(args.report)}", file=sys.stderr)
    return 2 if summary.error_count else 0


def _discard(*outputs: object) -> None:
    for out in outputs:
        if out is not None:
            out.discard()  # type: ignore[attr-defined]


#: Endings of the files a command reads facts or cases from, never rules.
_FACTS_ENDINGS = (".yaml", ".yml", ".json", ".jsonl", ".csv", ".xlsx", ".parquet")


def _rules_first(args: argparse.Namespace) -> None:
    """Refuse RULES and FACTS (or CASES, REGISTER) given the other way round, saying which is which, before either is read."""
    second = getattr(args, "facts", None) or getattr(args, "register", None) or (getattr(args, "cases", None) or [None])[0]
    rules = getattr(args, "rules", None)
    if not isinstance(rules, str) or second is None or not rules.lower().endswith(_FACTS_ENDINGS) or not os.path.isfile(rules):
        return
    if os.path.isdir(second):
        kind = "a folder of rules"
    elif second.endswith(".rules"):
        kind = "a rule file"
    else:
        return
    what = "a case file" if getattr(args, "cases", None) else "a facts file"
    rest = " ".join(a for a in (getattr(args, "cases", None) or [second])[1:])
    words = f"policy-rules {args.command} {second} {rules}{' ' + rest if rest else ''}"
    raise UsageError(f"the rules come first, then the facts: {rules} is {what} and {second} {kind}; write `{words}`", "arguments")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _rules_first(args)
        if args.command == "check":
            return _check(args.rules)
        if args.command == "compile":
            return _compile(args)
        if args.command == "test":
            return _test(args)
        if args.command in ("analyse", "whatif"):
            from policy_rules.analysis.commands import run as run_analysis

            return run_analysis(args)
        if args.command == "docs":
            from policy_rules.docs.command import run_docs

            return run_docs(args)
        if args.command == "fmt":
            from policy_rules.language.format_command import run_fmt

            return run_fmt(args)
        if args.command == "lsp":
            from policy_rules.lsp.command import run_lsp

            return run_lsp(args)
        if args.command == "diff":
            from policy_rules.analysis.diff_command import run_diff

            return run_diff(args)
        if args.command == "plan":
            from policy_rules.planner.command import run_plan

            return run_plan(args)
        if args.command in ("serve", "register"):
            return _service_command(args)
        return _decide(args, explain=args.command == "explain")
    except RuleFileError as error:
        print(str(error), file=sys.stderr)
        return 1 if args.command == "check" else 2
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return 2
    except Interrupted as interrupted:
        print(interrupted.message, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:
        print("error: the input is nested too deeply to read", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the input is too large to read in this machine's memory", file=sys.stderr)
        return 2
    except Exception as error:  # a failure inside policy_rules: one line, never a traceback
        print(f"internal error ({type(error).__name__}): {BUG_REPORT}", file=sys.stderr)
        return 3


def run() -> NoReturn:
    """The console script's entry point: Ctrl-C and SIGTERM stop it cleanly, exit status 130, however often pressed."""
    _Signals.install()
    try:
        status = main()
    except KeyboardInterrupt:  # between main's own handlers, such as while parsing the arguments
        print("interrupted; nothing was written", file=sys.stderr)
        status = 130
    _Signals.armed = False
    for number in (signal.SIGINT, signal.SIGTERM):  # a late signal must not kill the process as it exits, which would lose the status
        signal.signal(number, signal.SIG_IGN)
    raise SystemExit(status)


if __name__ == "__main__":
    run()
