"""Mutation run over the code generators: change one operator at a time and see whether the tests notice.

``python -m benchmarks.mutate [--limit N] [--timeout S] [--from-commit REV] [--report FILE]``

Each mutant changes one token of one file (``<`` for ``<=``, ``and`` for
``or``, ``in`` for ``not in``, a unary minus dropped, ``True`` for ``False``,
``any`` for ``all``, ``/`` for ``//``...), in the Python of the generators or
in the Python text they emit: f-strings (``"not in" if e.negated else "in"``),
``str.format`` templates (the ``APPLY`` table of ``codegen``: ``"({0} < {1})"``)
and operator spellings; a string that only names an operator as data (a dict
key, a member of a set or tuple) is left alone. The
package is copied to a temporary folder with the tests, the mutant is written
there and the tests run in a subprocess from that folder, so the working tree
is never touched. A mutant is *killed* when the tests fail (or time out) and
*survives* when they pass; every survivor needs an explanation (an
equivalent mutant, dead code, or a gap in the tests).

The sites are listed in a fixed order and a seeded sample of ``--limit`` of
them is run, spread evenly over the files, so two runs with the same
arguments try the same mutants.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
FILES = (
    "policy_rules/engine/codegen.py",
    "policy_rules/engine/policy_function.py",
    "policy_rules/engine/traced_function.py",
    "policy_rules/engine/compiler.py",
)
TESTS = (
    "tests/engine/test_form_coverage.py",
    "tests/engine/test_policy_function.py",
    "tests/engine/test_traced_function.py",
    "tests/engine/test_evaluator.py",
    "tests/engine/test_codegen.py",
)
#: What a mutant's tests need from the repository.
COPIED = ("policy_rules", "grammar", "tests", "benchmarks", "rules", "schema", "examples", "conftest.py", "pyproject.toml")

_OPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "+": "-", "-": "+", "*": "/", "/": "//", "//": "/"}
_NAMES = {"and": "or", "or": "and", "True": "False", "False": "True", "any": "all", "all": "any"}
#: Operator spellings inside strings of emitted code, and what each becomes.
_IN_STRINGS = [
    (re.compile(r"(?<![<>=!])(<=|>=|==|!=)(?![=])"), None),
    (re.compile(r"(?<![<>=!-])([<>])(?![=<>])"), None),
    (re.compile(r"(?<=\s)(and|or)(?=\s)"), None),
    (re.compile(r"\b(not in)\b"), "in"),
    (re.compile(r"(?<=^[\"'])(in)(?=[\"']$)"), "not in"),
    (re.compile(r"\b(any|all)(?=\()"), None),
    (re.compile(r"\((-)\{"), ""),
    (re.compile(r"\((not )\{"), ""),
    (re.compile(r"\{0\} ([-+*]) \{1\}"), None),
    (re.compile(r"(?<=^[\"'])(True|False)(?=[\"']$)"), None),
    # An operator the generator copies from the lowered form: each mutant changes one reading, in one direction.
    (re.compile(r"(\{e\.op\})"), "{ {'and': 'or', 'not in': 'in'}.get(e.op, e.op)}"),
    (re.compile(r"(\{e\.op\})"), "{ {'or': 'and', 'in': 'not in'}.get(e.op, e.op)}"),
]
#: What each replacement of ``{e.op}`` does, as the report says it.
_OP_READINGS = {
    "{ {'and': 'or', 'not in': 'in'}.get(e.op, e.op)}": "`and` as `or`, `not in` as `in`",
    "{ {'or': 'and', 'in': 'not in'}.get(e.op, e.op)}": "`or` as `and`, `in` as `not in`",
}


class Mutant(NamedTuple):
    path: str
    line: int
    column: int
    old: str
    new: str
    what: str

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        text = lines[self.line - 1]
        assert text[self.column : self.column + len(self.old)] == self.old, (self, text)
        lines[self.line - 1] = text[: self.column] + self.new + text[self.column + len(self.old) :]
        return "".join(lines)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column + 1}: {self.what}"


def sites(path: str, source: str) -> Iterator[Mutant]:
    """Every single-token mutation of a file's code (docstrings and comments left alone)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for i, tok in enumerate(tokens):
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        line, col = tok.start
        if tok.type == tokenize.OP and tok.string in _OPS:
            unary = before is None or (before.type == tokenize.OP and before.string not in (")", "]", "}")) or before.string in _KEYWORDS
            if unary and tok.string == "-":
                yield Mutant(path, line, col, "-", "", "unary minus dropped")
            elif tok.string == "+" and tokenize.STRING in (before.type, after.type if after else None):
                continue  # joining strings: a mutant that only breaks the generator's own Python
            elif not unary:  # a star that unpacks is left alone
                yield Mutant(path, line, col, tok.string, _OPS[tok.string], f"`{tok.string}` as `{_OPS[tok.string]}`")
        elif tok.type == tokenize.NAME:
            if tok.string in _NAMES and not (tok.string in ("any", "all") and (after is None or after.string != "(")):
                yield Mutant(path, line, col, tok.string, _NAMES[tok.string], f"`{tok.string}` as `{_NAMES[tok.string]}`")
            elif tok.string == "not" and after is not None and after.string == "in":
                yield Mutant(path, line, col, "not in", "in", "`not in` as `in`")
            elif tok.string == "not" and (before is None or before.string != "is"):
                yield Mutant(path, line, col, "not ", "", "`not` dropped")
            elif tok.string == "in" and (before is None or before.string != "not") and not _loop(tokens, i):
                yield Mutant(path, line, col, "in", "not in", "`in` as `not in`")
            elif tok.string == "is" and after is not None and after.string == "not":
                yield Mutant(path, line, col, "is not", "is", "`is not` as `is`")
            elif tok.string == "is":
                yield Mutant(path, line, col, "is", "is not", "`is` as `is not`")
        elif tok.type == tokenize.STRING and not _docstring(tokens, i) and not _key(tokens, i) and _emitted(tok.string):
            yield from _string_sites(path, tok)


_KEYWORDS = {"return", "if", "elif", "else", "and", "or", "not", "in", "is", "yield", "lambda"}


def _loop(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether ``in`` at ``i`` is the ``in`` of a ``for`` (a loop or a comprehension), not a membership test."""
    depth = 0
    for j in range(i - 1, -1, -1):
        t = tokens[j]
        if t.type == tokenize.OP and t.string in ")]}":
            depth += 1
        elif t.type == tokenize.OP and t.string in "([{":
            if depth == 0:
                return False
            depth -= 1
        elif t.type == tokenize.NAME and depth == 0 and t.string in ("for", "if", "and", "or", "not", "return", "elif", "while", "lambda"):
            return t.string == "for"
        elif t.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) or (t.type == tokenize.OP and t.string in ("=", ",", ":") and depth == 0):
            return False
    return False


def _docstring(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    before = tokens[i - 1].type if i else tokenize.NEWLINE
    after = tokens[i + 1].type if i + 1 < len(tokens) else tokenize.NEWLINE
    return before in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) and after == tokenize.NEWLINE


def _key(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether the string at ``i`` names an operator as data (a dict key ``"<": "({0} < {1})"``, a member of ``{"<", "<="}`` or of
    ``e.op in ("in", "not in")``, a subscript ``x["<"]``), not Python the generator emits."""
    if not 0 < i < len(tokens) - 1 or tokens[i - 1].string not in ("{", ",", "[", "(") or tokens[i + 1].string not in (",", "}", "]", ")", ":"):
        return False
    depth = 0
    for j in range(i - 1, -1, -1):
        t = tokens[j].string if tokens[j].type == tokenize.OP else ""
        if t in (")", "]", "}"):
            depth += 1
        elif t in ("(", "[", "{"):
            if depth:
                depth -= 1
                continue
            if t != "(":
                return True
            called = tokens[j - 1] if j else None
            return called is None or called.type != tokenize.NAME or called.string in _KEYWORDS
    return False


def _emitted(literal: str) -> bool:
    """Whether a string is (part of) generated Python: an f-string with a hole, a ``str.format`` template (``"({0} < {1})"``), or a short operator spelling."""
    body = literal.lstrip("rbfRBF")[1:-1]
    return ("{" in body and literal[:1] in "fF") or "{0}" in body or re.fullmatch(_SPELLING, body.strip()) is not None


_SPELLING = r"[<>=!]=?|not in|in|is not|is|and|or|not|any|all|True|False"


def _string_sites(path: str, tok: tokenize.TokenInfo) -> Iterator[Mutant]:
    line, col = tok.start
    if tok.start[0] != tok.end[0]:
        return
    text = tok.string
    for pattern, replacement in _IN_STRINGS:
        for match in pattern.finditer(text):
            old = match.group(1)
            new = replacement if replacement is not None else _OPS.get(old, _NAMES.get(old, old))
            if new == old:
                continue
            what = _OP_READINGS.get(new, f"`{old}` as `{new or 'nothing'}`")
            yield Mutant(path, line, col + match.start(1), old, new, f"in emitted code, {what}")


def sample(found: list[Mutant], limit: int, seed: int) -> list[Mutant]:
    """``limit`` mutants, spread evenly over the files, chosen by a seeded shuffle."""
    rng = random.Random(seed)
    by_file: dict[str, list[Mutant]] = {}
    for m in found:
        by_file.setdefault(m.path, []).append(m)
    for group in by_file.values():
        rng.shuffle(group)
    chosen: list[Mutant] = []
    while len(chosen) < limit and any(by_file.values()):
        for group in by_file.values():
            if group and len(chosen) < limit:
                chosen.append(group.pop())
    return sorted(chosen)


def copy_tree(into: Path, commit: str | None) -> None:
    """The files the tests need, from the working tree; the package itself (and its grammar) from ``commit`` when given.

    Taking the package from a commit keeps the sites of a run (``PATH:LINE:COL``)
    the same while the tests grow, so that ``--only`` can rerun the survivors
    of an earlier run against a stronger corpus.
    """
    packaged = ("policy_rules", "grammar") if commit is not None else ()
    for name in COPIED:
        source = ROOT / name
        if name in packaged:
            continue
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, into / name)
    if commit is not None:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, *packaged], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def run_tests(folder: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float, str]:
    """``("killed" | "survived" | "timeout", seconds, the first failing test)``."""
    env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1", "POLICY_RULES_CACHE": "off"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    failed = next((line.split(" ")[1] for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))), "")
    return ("survived" if done.returncode == 0 else "killed"), time.monotonic() - start, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=list(FILES), help="files to mutate, relative to the repository")
    parser.add_argument("--tests", nargs="+", default=list(TESTS), help="tests that must kill each mutant")
    parser.add_argument("--limit", type=int, default=40, help="how many mutants to try (a seeded sample)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds a mutant's tests may take; longer counts as killed")
    parser.add_argument("--from-commit", help="mutate the package as in this commit (the tests still come from the working tree)")
    parser.add_argument("--only", nargs="+", default=[], help="run only the mutants listed as PATH:LINE:COL (from an earlier run)")
    parser.add_argument("--list", action="store_true", help="list every site and stop")
    parser.add_argument("--report", type=Path, help="also write the results as a Markdown table to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="policy_rules_mutants_") as temp:
        folder = Path(temp)
        copy_tree(folder, args.from_commit)
        originals = {path: (folder / path).read_text(encoding="utf-8") for path in args.files}
        found = [m for path, source in originals.items() for m in sites(path, source)]
        if args.list:
            for m in found:
                print(m)
            print(f"{len(found)} sites")
            return 0
        chosen = [m for m in found if f"{m.path}:{m.line}:{m.column + 1}" in args.only] if args.only else sample(found, args.limit, args.seed)
        print(f"{len(found)} sites in {len(args.files)} files; trying {len(chosen)}", flush=True)
        status, seconds, failed = run_tests(folder, tuple(args.tests), args.timeout * 2)
        if status != "survived":
            print(f"the tests fail before any mutation ({failed or status}); fix them first", file=sys.stderr)
            return 2
        print(f"unmutated: tests pass in {seconds:.0f} s", flush=True)
        results: list[tuple[Mutant, str, float, str]] = []
        for m in chosen:
            (folder / m.path).write_text(m.apply(originals[m.path]), encoding="utf-8")
            try:
                status, seconds, failed = run_tests(folder, tuple(args.tests), args.timeout)
            finally:
                (folder / m.path).write_text(originals[m.path], encoding="utf-8")
            results.append((m, status, seconds, failed))
            print(f"{status:8} {seconds:5.0f} s  {m}  {failed}", flush=True)
    killed = sum(status != "survived" for _m, status, _s, _f in results)
    survivors = [m for m, status, _s, _f in results if status == "survived"]
    print(f"\n{len(results)} mutants: {killed} killed, {len(survivors)} survived")
    for m in survivors:
        print(f"  survived: {m}")
    if args.report:
        rows = ["| mutant | result | first failing test |", "|---|---|---|"]
        rows += [f"| `{m}` | {status} | {failed.split('::')[-1] if failed else ''} |" for m, status, _s, failed in results]
        args.report.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
