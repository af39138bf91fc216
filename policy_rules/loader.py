"""Reading rule files and checking them: files to diagnostics and a checked model.

This is the front half of the pipeline (parser -> builder -> checker), kept
apart from the evaluator so that ``policy-rules check`` loads only what it
needs.

Parsing is the slow part of a check, and officers check after every edit of
one file among several; so the AST built from each file is kept in a cache,
under ``~/.cache/policy_rules`` (or ``$XDG_CACHE_HOME``, or
``$POLICY_RULES_CACHE``), keyed by a digest of the file's path and text and of
the grammar and the code that parses it. A file found there is not parsed
again (nor is the parser loaded at all when every file is found). The cache
is the user's own, never a shared temporary folder, since it is read back
with ``pickle``; ``POLICY_RULES_CACHE=off`` turns it off, and anything wrong
with it (a folder that cannot be written, a damaged entry) only means parsing
again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from policy_rules import nodes as n
from policy_rules.checker import PolicyModel, check
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError, source_line
from policy_rules.resources import grammar_text

RULE_FILE_SUFFIX = ".rules"
MAX_RULE_FILE_BYTES = 2_000_000


def rule_files(path: str | Path) -> list[tuple[str, Path]]:
    """The rule files of a file or folder (read recursively), in a stable order, with display paths."""
    p = Path(path)
    if p.is_dir():
        found = sorted(f for f in p.rglob(f"*{RULE_FILE_SUFFIX}") if f.is_file())
        return [(str(Path(path) / f.relative_to(p)), f) for f in found]
    return [(str(path), p)]


def read_sources(paths: Iterable[str | Path]) -> dict[str, str]:
    """The text of every rule file named or found in the folders named.

    A path that does not exist is an unusable argument (``PolicyError``); a
    rule file that cannot be read as text is an error in that file, reported
    with the others in one ``RuleFileError``.
    """
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise PolicyError("there is no such file or folder; check the path", str(path))
        files = rule_files(path)
        if not files:
            raise PolicyError(f"this folder holds no rule files (files ending in {RULE_FILE_SUFFIX})", str(path))
        for shown, real in files:
            if real.stat().st_size > MAX_RULE_FILE_BYTES:
                size = real.stat().st_size
                message = f"the file is {size:,} bytes, larger than the limit of {MAX_RULE_FILE_BYTES:,} for a rule file; split it into several files"
                problems.append(Diagnostic("error", n.Span(shown, 1, 1, 1, 1), message))
                continue
            data = real.read_bytes()
            if b"\x00" in data:
                problems.append(Diagnostic("error", n.Span(shown, 1, 1, 1, 1), "this is not a text file; rule files are plain text"))
                continue
            try:
                sources[shown] = data.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                line = data[: error.start].count(b"\n") + 1
                column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
                message = f"this file is not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8"
                problems.append(Diagnostic("error", n.Span(shown, line, column, line, column), message))
    if problems:
        raise RuleFileError(problems)
    return sources


def digest_of(sources: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    names = {name: Path(name).name for name in sources}
    for name in sorted(sources, key=lambda x: (names[x], x)):
        h.update(names[name].encode())
        h.update(b"\0")
        h.update(sources[name].encode())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def analyse(sources: Mapping[str, str], title: str) -> tuple[PolicyModel | None, list[Diagnostic]]:
    """Parse, build and check some rule files: the model and every diagnostic, sorted."""
    files: list[n.RuleFile] = []
    diagnostics: list[Diagnostic] = []
    for path, text in sources.items():
        ast, errors = _read_cached(path, text)
        diagnostics.extend(errors)
        if ast is not None:
            files.append(ast)
    if any(d.severity == "error" for d in diagnostics):
        return None, sorted(diagnostics, key=Diagnostic.sort_key)
    model = check(files, dict(sources), title)
    diagnostics.extend(model.diagnostics)
    return model, sorted(diagnostics, key=Diagnostic.sort_key)


def parse_file(path: str, text: str) -> tuple[n.RuleFile | None, list[Diagnostic]]:
    """One file's AST and its syntax errors (parser and builder)."""
    from policy_rules.builder import build
    from policy_rules.parser import MAX_NESTING, first_bracket_beyond, parse_text

    too_deep = first_bracket_beyond(text, MAX_NESTING)
    if too_deep is not None:
        line, column = too_deep
        span = n.Span(path, line, column, line, column)
        message = f"brackets are nested more than {MAX_NESTING} deep; split the expression into defined values"
        return None, [Diagnostic("error", span, message, source_line(text, line))]
    try:
        tree, errors = parse_text(text, path)
    except RecursionError:
        return None, [Diagnostic("error", n.Span(path, 1, 1, 1, 1), "this file is nested too deeply to read")]
    if tree is None:
        return None, errors
    ast, more = build(tree, path, text)
    return ast, [*errors, *more]


def _read_cached(path: str, text: str) -> tuple[n.RuleFile | None, list[Diagnostic]]:
    folder = cache_folder()
    if folder is None:
        return parse_file(path, text)
    key = hashlib.sha256(_code_digest() + path.encode("utf-8", "surrogatepass") + b"\0" + text.encode("utf-8", "surrogatepass")).hexdigest()
    entry = folder / key[:2] / key
    with contextlib.suppress(Exception):  # no entry, or a damaged one: parse again
        with entry.open("rb") as f:
            found = pickle.load(f)
        if isinstance(found, tuple) and len(found) == 2:
            return found
    result = parse_file(path, text)
    with contextlib.suppress(Exception):  # a cache that cannot be written only costs speed
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _make_room(entry.parent)
        with tempfile.NamedTemporaryFile("wb", dir=entry.parent, delete=False) as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, entry)
    return result


#: Entries kept in each of the cache's 256 subfolders; the oldest go first.
CACHE_ENTRIES_PER_FOLDER = 32


def _make_room(folder: Path) -> None:
    entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in entries[: max(0, len(entries) - CACHE_ENTRIES_PER_FOLDER + 1)]:
        old.unlink(missing_ok=True)


def cache_folder() -> Path | None:
    """Where parsed files are kept, or None when the cache is off or there is no home folder."""
    chosen = os.environ.get("POLICY_RULES_CACHE", "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or (str(Path.home() / ".cache") if os.environ.get("HOME") else "")
    return Path(base) / "policy_rules" if base else None


@functools.cache
def _code_digest() -> bytes:
    """What the cached ASTs depend on besides the files: Python, the grammar and the code that parses and builds."""
    h = hashlib.sha256(sys.version.encode())
    here = Path(__file__).resolve().parent
    for name in ("parser.py", "builder.py", "nodes.py", "errors.py"):
        h.update((here / name).read_bytes())
    h.update(grammar_text().encode())
    return h.digest()
