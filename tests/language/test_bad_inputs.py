"""Bad input never breaks the command line: every mistake is a clear message with its place.

Each entry of the corpus in ``tests/bad_inputs/`` is run through the real
command line (``python -m policy_rules.cli``) in a subprocess. An entry is a
file or a folder under ``rules/`` or ``facts/``, or a ``NAME.expect`` file
alone (under ``arguments/``, or for inputs this module generates because they
are too large to commit). ``tests/bad_inputs/support/`` holds the valid files
the entries are run with; it is not itself part of the corpus.

An entry declares what must happen, in ``# expect-KEY: VALUE`` lines at the top
of the file or in a sidecar ``NAME.expect`` of ``KEY: VALUE`` lines:

``about``
    what the entry is (required).
``command``
    the arguments after ``policy-rules``; ``{input}`` is the entry's path as
    seen from the repository root. Default: ``check {input}`` for ``rules/``,
    ``evaluate rules/haringey {input}`` for ``facts/``.
``exit``
    the exit status (required); ``exit-also`` lists other statuses that are
    also right (``0,2``: an input that may be either refused or taken as data).
``location``
    the exact location: some line of stderr is ``LOCATION: error: MESSAGE``.
    ``location-prefix`` asks only that such a line start with this text; by
    default a rule or facts entry's error must start with its own path.
``message`` / ``message-re``
    a stable part of the message (a substring, or a regular expression),
    looked for from the location to the next error.
``caret``
    ``no`` when a located error need not show its line: by default an error at
    ``PATH:LINE:COL`` must be followed by that line of the file and a caret
    under the column.
``absent``, ``stdout``, ``stdout-absent``
    text that must not appear in the output; text that must (or must not)
    appear on stdout when the command succeeds.
``generate``
    the name of a function below that writes the input (huge or deeply nested
    files are made here rather than committed).
``timeout``
    seconds before the run counts as a hang (default 60).

Whatever the entry, "Traceback", ``internal error``, a RecursionError, a
grammar token's name or an error line without a location are failures, and no
code smuggled into a rule or facts file may run (``/tmp/pwned`` must not appear).

Entries are run concurrently, once per session, by the ``outcomes`` fixture;
each parametrized test then checks its own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

from tests.support.cli_helpers import ROOT

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
SUPPORT = CORPUS / "support"
KINDS = ("rules", "facts", "arguments")
DEFAULT_COMMAND = {"rules": "check {input}", "facts": "evaluate rules/haringey {input}", "arguments": ""}
MULTI_KEYS = frozenset({"absent", "stdout", "stdout-absent"})
KNOWN_KEYS = frozenset(
    {"about", "command", "exit", "exit-also", "location", "location-prefix", "message", "message-re", "caret", "generate", "timeout"} | MULTI_KEYS
)
SENTINEL = Path("/tmp/pwned")
DEFAULT_TIMEOUT = 60.0
# Names of the grammar's terminals and of Lark's internals: never shown to a user.
TOKEN_NAMES = re.compile(
    r"\b(NAME|STRING|MONEY|PERCENT|NUMBER|INT|YESNO|NO_QUANT|ADD_OP|MUL_OP|LPAR|RPAR|COMMA|__ANON_\d+|_NL)\b"
    r"|\$END|Token\(|Unexpected(Token|Characters|EOF|Input)|RecursionError|lark\."
)
ERROR_HEAD = re.compile(r"^(?P<where>.*?): error: ", re.MULTILINE)
LINE_COL = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+)$")


# --- the corpus ---------------------------------------------------------------------------


@attrs.frozen
class Entry:
    """One bad input and what must happen when the command line is given it."""

    id: str
    kind: str
    input: Path | None
    expect: dict[str, list[str]]

    def one(self, key: str, default: str | None = None) -> str | None:
        values = self.expect.get(key)
        return values[0] if values else default

    @property
    def exits(self) -> set[int]:
        codes = {int(self.one("exit") or "-1")}
        codes.update(int(c) for c in (self.one("exit-also") or "").split(",") if c.strip())
        return codes

    @property
    def timeout(self) -> float:
        return float(self.one("timeout") or DEFAULT_TIMEOUT)


def _parse_lines(lines: Iterator[str], prefix: str) -> dict[str, list[str]]:
    expect: dict[str, list[str]] = {}
    for line in lines:
        if not line.startswith(prefix):
            if prefix:  # a header ends at its first other line
                break
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            raise ValueError(f"not a `KEY: VALUE` line: {line!r}")
        key, sep, value = line[len(prefix) :].partition(":")
        if not sep or key not in KNOWN_KEYS:
            raise ValueError(f"unknown expectation {key!r} in {line!r}")
        expect.setdefault(key, []).append(value.strip())
    return expect


def _expectations(path: Path) -> dict[str, list[str]]:
    sidecar = path.with_name(path.name + ".expect")
    if sidecar.exists():
        return _parse_lines(iter(sidecar.read_text(encoding="utf-8").splitlines()), "")
    if path.is_file():
        text = path.read_bytes().decode("utf-8", errors="replace")
        return _parse_lines(iter(text.splitlines()), "# expect-")
    return {}


def corpus() -> list[Entry]:
    entries = []
    for kind in KINDS:
        folder = CORPUS / kind
        for path in sorted(folder.iterdir()):
            if path.name.endswith(".expect"):
                if path.with_name(path.name.removesuffix(".expect")).exists():
                    continue  # the sidecar of a file or folder: read with it
                expect = _parse_lines(iter(path.read_text(encoding="utf-8").splitlines()), "")
                entries.append(Entry(f"{kind}/{path.name.removesuffix('.expect')}", kind, None, expect))
            else:
                entries.append(Entry(f"{kind}/{path.name}", kind, path, _expectations(path)))
    return entries


ENTRIES = corpus()


# --- inputs too large to commit -------------------------------------------------------------


def _base_rules() -> str:
    """The valid policy of ``support/base.rules`` (36 lines) and a blank line: line 38 is the next."""
    return (SUPPORT / "base.rules").read_text(encoding="utf-8") + "\n"


def _huge_rule_file() -> tuple[str, bytes]:
    means = "a fact made only to make this file larger than any rule file needs to be"
    facts = "".join(f'fact generated_{i} is yes/no\n  means "{means}"\n\n' for i in range(25_000))
    return ".rules", (_base_rules() + facts).encode()


def _define(expression: str) -> tuple[str, bytes]:
    return ".rules", (_base_rules() + f"define deep as {expression}\n").encode()


def _many_errors() -> tuple[str, bytes]:
    return ".rules", "".join(f"fact f{i} is mony\n\n" for i in range(2_000)).encode()


def _long_list_yaml(items: int = 10_500) -> tuple[str, bytes]:
    return ".yaml", ("service: A\nelements:\n" + "  - name: Part\n    specialist: no\n" * items).encode()


def _long_list_csv() -> tuple[str, bytes]:
    cell = "[" + ", ".join(["{}"] * 12_000) + "]"  # short items: the cell stays under the CSV reader's limit
    return ".csv", f'service,elements\nParks,"{cell}"\n'.encode()


def _parts_yaml(items: str) -> tuple[str, bytes]:
    return ".yaml", ("service: A\nelements:\n" + items).encode()


def _huge_cell_csv() -> tuple[str, bytes]:
    return ".csv", ("service,annual_spend\nParks," + "9" * 1_000_000 + "\n").encode()


GENERATORS: dict[str, Callable[[], tuple[str, bytes]]] = {
    "huge_rule_file": _huge_rule_file,
    "not_chain": lambda: _define("not " * 10_000 + "urgent"),
    "brackets_100000": lambda: _define("(" * 100_000 + "urgent" + ")" * 100_000),
    "minus_chain": lambda: _define("cost is above " + "- " * 10_000 + "budget"),
    "long_sum": lambda: _define("cost + " * 20_000 + "cost is above budget"),
    "long_name": lambda: _define("x" * 100_000 + " or urgent"),
    "many_errors": _many_errors,
    "json_nested": lambda: (".json", ("[" * 100_000 + "]" * 100_000).encode()),
    "yaml_nested": lambda: (".yaml", ("[" * 100_000 + "]" * 100_000).encode()),
    "yaml_long_list": _long_list_yaml,
    "yaml_large_file": lambda: _long_list_yaml(600_000),
    "yaml_many_parts": lambda: _parts_yaml("  - name: Part\n    specialist: yes\n  - name: Other\n    specialist: no\n" * 5_000),
    "yaml_parts_unknown": lambda: _parts_yaml("".join(f"  - name: Part {i}\n" for i in range(40))),
    "csv_long_list": _long_list_csv,
    "csv_huge_cell": _huge_cell_csv,
}


# --- running ------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    entry: Entry
    input: str
    args: tuple[str, ...]
    returncode: int | None  # None: it did not finish in time
    stdout: str
    stderr: str
    seconds: float


def _shown_path(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _run(entry: Entry, scratch: Path) -> Outcome:
    path = entry.input
    generator = entry.one("generate")
    if generator is not None:
        suffix, data = GENERATORS[generator]()
        path = scratch / (entry.id.replace("/", "-") + suffix)
        path.write_bytes(data)
    shown = _shown_path(path) if path is not None else ""
    template = entry.one("command") or DEFAULT_COMMAND[entry.kind]
    args = tuple(arg.replace("{input}", shown) for arg in shlex.split(template))
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "policy_rules.cli", *args],
            cwd=ROOT,
            env={**os.environ, "NO_COLOR": "1"},
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=entry.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or b""
        err = expired.stderr or b""
        return Outcome(
            entry,
            shown,
            args,
            None,
            out.decode(errors="replace") if isinstance(out, bytes) else out,
            err.decode(errors="replace") if isinstance(err, bytes) else err,
            time.monotonic() - start,
        )
    return Outcome(entry, shown, args, done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def _sentinel_state() -> float | None:
    return SENTINEL.stat().st_mtime if SENTINEL.exists() else None


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome | BaseException]:
    """Every selected entry, run once and concurrently; the sentinel's state before."""
    wanted = {item.callspec.params["entry"].id for item in request.session.items if getattr(item, "originalname", "") == "test_bad_input"}
    scratch = tmp_path_factory.mktemp("bad-inputs")
    selected = [e for e in ENTRIES if e.id in wanted]
    results: dict[str, Outcome | BaseException] = {}
    before = _sentinel_state()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {e.id: pool.submit(_run, e, scratch) for e in selected}
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as error:  # reported by the entry's own test
                results[key] = error
    results["<sentinel>"] = before  # type: ignore[assignment]
    return results


# --- checking -----------------------------------------------------------------------------


def _error_blocks(text: str) -> list[tuple[str, str, int]]:
    """Each error in the text: its location, its text up to the next error, and its line number."""
    heads = list(ERROR_HEAD.finditer(text))
    blocks = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        line_number = text.count("\n", 0, head.start())
        blocks.append((head.group("where"), text[head.end() : end], line_number))
    return blocks


def _diagnostics(outcome: Outcome) -> str:
    """Where the errors are: stderr, and for ``check`` (whose findings are its output) stdout too."""
    if outcome.args[:1] == ("check",):
        return outcome.stderr + "\n" + outcome.stdout
    return outcome.stderr


def _file_line(path_text: str, line: int) -> str | None:
    path = Path(path_text)
    if not path.is_absolute():
        path = ROOT / path
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _check_caret(where: str, text: str, line_number: int) -> list[str]:
    found = LINE_COL.match(where)
    if not found:
        return []
    lines = text.splitlines()
    shown = lines[line_number + 1] if line_number + 1 < len(lines) else None
    caret = lines[line_number + 2] if line_number + 2 < len(lines) else None
    source = _file_line(found["path"], int(found["line"]))
    problems = []
    if source is not None and (shown is None or shown.rstrip() != "    " + source.expandtabs(1).rstrip()):
        problems.append(f"the error at {where} is not followed by its source line {source[:80]!r} (found {(shown or '')[:80]!r})")
    expected_caret = " " * (4 + int(found["col"]) - 1) + "^"
    if caret is None or caret.rstrip() != expected_caret:
        problems.append(f"the error at {where} has no caret under column {found['col']} (found {(caret or '')[:80]!r})")
    return problems


def problems_of(outcome: Outcome, sentinel_before: float | None) -> list[str]:
    """Everything wrong with one run, in words; empty when it did what the entry says."""
    entry = outcome.entry
    out, err = outcome.stdout, outcome.stderr
    problems: list[str] = []
    if outcome.returncode is None:
        return [f"no answer within {entry.timeout:.0f} s (a hang); stderr so far: {err[-300:]!r}"]
    for stream, text in (("stdout", out), ("stderr", err)):
        if "Traceback" in text:
            problems.append(f"a Python traceback on {stream}")
    if "internal error" in err:
        problems.append("an internal error instead of a message for the user")
    if outcome.returncode not in entry.exits:
        problems.append(f"exit status {outcome.returncode}, expected {' or '.join(map(str, sorted(entry.exits)))}")
    if _sentinel_state() != sentinel_before:
        problems.append(f"{SENTINEL} was created or touched: code from an input ran")
    for text in entry.expect.get("absent", []):
        if text in out or text in err:
            problems.append(f"the output shows {text!r}")
    diagnostics = _diagnostics(outcome)
    unlocated = [line for line in diagnostics.splitlines() if line.startswith(("error:", "warning:"))]
    if unlocated:
        problems.append(f"an error without a location: {unlocated[0]!r}")
    tokens = TOKEN_NAMES.search(err if outcome.returncode == 0 else diagnostics)
    if tokens:
        problems.append(f"the message names a grammar token or parser internal: {tokens.group(0)!r}")
    if outcome.returncode == 0:
        for text in entry.expect.get("stdout", []):
            if text not in out:
                problems.append(f"stdout does not show {text!r}")
        for text in entry.expect.get("stdout-absent", []):
            if text in out:
                problems.append(f"stdout shows {text!r}")
        return problems
    problems.extend(_located_message_problems(outcome, diagnostics))
    return problems


def _located_message_problems(outcome: Outcome, err: str) -> list[str]:
    entry = outcome.entry
    exact = entry.one("location")
    prefix = entry.one("location-prefix")
    if exact is not None:
        exact = exact.replace("{input}", outcome.input)
    if prefix is not None:
        prefix = prefix.replace("{input}", outcome.input)
    blocks = _error_blocks(err)
    if exact is not None:
        at_place = [b for b in blocks if b[0] == exact]
        wanted = exact
    elif prefix is not None:
        at_place = [b for b in blocks if b[0].startswith(prefix)]
        wanted = f"{prefix}..."
    elif outcome.input:  # somewhere in the entry's own file (or, for a folder, in one of its files)
        at_place = [b for b in blocks if b[0] == outcome.input or b[0].startswith((outcome.input + ":", outcome.input + "/"))]
        wanted = f"{outcome.input}..."
    else:
        return ["the entry declares no location"]
    if not at_place:
        heads = [b[0][:120] for b in blocks[:3]]
        return [f"no error at {wanted!r}; errors were at {heads} ; stderr: {err[:400]!r}"]
    message = entry.one("message")
    pattern = entry.one("message-re")

    def says(text: str) -> bool:
        return (message is None or message in text) and (pattern is None or re.search(pattern, text) is not None)

    matching = [b for b in at_place if says(b[1])]
    if not matching:
        return [f"the error at {wanted!r} does not say {message or pattern!r}: {at_place[0][1][:300]!r}"]
    if entry.one("caret", "yes") == "yes":
        return _check_caret(matching[0][0], err, matching[0][2])
    return []


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_bad_input(entry: Entry, outcomes: dict[str, Outcome | BaseException]) -> None:
    outcome = outcomes[entry.id]
    if isinstance(outcome, BaseException):
        raise outcome
    problems = problems_of(outcome, outcomes["<sentinel>"])  # type: ignore[arg-type]
    command = " ".join(["policy-rules", *(a if len(a) < 200 else a[:60] + "..." for a in outcome.args)])
    if problems:
        pytest.fail(
            f"{entry.one('about')}\n  $ {command}\n  exit {outcome.returncode} in {outcome.seconds:.1f} s\n  - "
            + "\n  - ".join(problems)
            + f"\n  stderr: {outcome.stderr[:600]!r}",
            pytrace=False,
        )


def test_the_corpus_covers_every_kind_of_mistake() -> None:
    assert len(ENTRIES) >= 60
    for entry in ENTRIES:
        assert entry.one("about"), f"{entry.id}: say what the entry is with `about`"
        assert entry.one("exit") is not None, f"{entry.id}: declare the exit status"
        if 0 not in entry.exits:
            assert entry.one("message") or entry.one("message-re"), f"{entry.id}: declare the message"
        if entry.input is None:
            assert entry.one("generate") or entry.one("command"), f"{entry.id}: a sidecar alone needs `generate` or `command`"
        generator = entry.one("generate")
        assert generator is None or generator in GENERATORS, f"{entry.id}: no generator {generator!r}"
    names = " ".join(e.id for e in ENTRIES)
    for kind in ("syntax-", "names-", "types-", "cycles-", "conflicts-", "limits-", "hostile-", "yaml-", "json-", "csv-", "empty", "binary", "missing-file"):
        assert kind in names, f"no entry for {kind}"


def test_the_support_policies_are_valid() -> None:
    """The rule entries are the valid ``support/base.rules`` with one mistake each."""
    from policy_rules import load_policy

    for name in ("base.rules", "types.rules"):
        policy = load_policy(SUPPORT / name)
        assert policy.evaluate({"service": "A"}, "2024-01-01").outcome
