"""Reading rule files and checking them: files to diagnostics and a checked model.

This is the front half of the pipeline (parser -> builder -> checker), kept
apart from the evaluator so that ``policy-rules check`` loads only what it
needs.

Parsing is the slow part of a check, and officers check after every edit of
one file among several; so the AST built from each file is kept in a cache,
under ``~/.cache/policy_rules`` (or ``$XDG_CACHE_HOME``, or
``$POLICY_RULES_CACHE``), keyed by a digest of the file's path and text and of
the grammar and the code that parses it. A file found there is not parsed
again (nor is the parser loaded at all when every file is found). Entries are
JSON (``policy_rules/ast_json.py``), never pickle, so reading one cannot run
code; each records the key it was stored under, checked on reading. The cache
is the user's own: its folders are made 0700, and one that another user owns
or others can write in is refused with a warning, since its entries could
have been planted to change decisions. Clean-up removes only files named as
its own entries. ``POLICY_RULES_CACHE=off`` turns it off, and anything wrong
with it (a folder that cannot be written, a damaged entry) only means parsing
again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from policy_rules import ast_json
from policy_rules import nodes as n
from policy_rules.checker import PolicyModel, check
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError, source_line
from policy_rules.escape import for_terminal
from policy_rules.resources import grammar_text, write_whole

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
    root = cache_folder()
    if root is None:
        return parse_file(path, text)
    key = hashlib.sha256(_code_digest() + path.encode("utf-8", "surrogatepass") + b"\0" + text.encode("utf-8", "surrogatepass")).hexdigest()
    folder = root / key[:2]
    if not _safe_folder(folder, follow=False):
        return parse_file(path, text)
    entry = folder / f"{key}{_ENTRY_SUFFIX}"
    with contextlib.suppress(Exception):  # no entry, or a damaged one: parse again
        return ast_json.loads(_read_own_file(entry), key, path)
    result = parse_file(path, text)
    with contextlib.suppress(Exception):  # a cache that cannot be written only costs speed
        _make_room(folder)
        write_whole(entry, ast_json.dumps(key, *result))  # readable by this user only
    return result


#: Entries kept in each of the cache's 256 subfolders; the oldest go first.
CACHE_ENTRIES_PER_FOLDER = 32

_ENTRY_SUFFIX = ".json"
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.json")
_PARTIAL_NAME = re.compile(r"\.[0-9a-f]{64}\.json\.[A-Za-z0-9_]+\.tmp")
#: Seconds after which a half-written entry (its writer was stopped) is removed.
_PARTIAL_AGE = 600
# The standard mark of a cache folder (https://bford.info/cachedir/): backup tools skip it.
_CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This folder holds the parse cache of policy-rules; it can be deleted.\n"


def _make_room(folder: Path) -> None:
    """Remove the oldest entries beyond the limit, and leftovers of stopped writers.

    Only files named as this cache names its own entries are touched, so a
    ``POLICY_RULES_CACHE`` that names a folder holding other files loses none of them.
    """
    entries: list[tuple[float, Path]] = []
    now = time.time()
    for found in folder.iterdir():
        if _ENTRY_NAME.fullmatch(found.name) and found.name.startswith(folder.name):
            with contextlib.suppress(OSError):
                entries.append((found.lstat().st_mtime, found))
        elif _PARTIAL_NAME.fullmatch(found.name):
            with contextlib.suppress(OSError):
                if now - found.lstat().st_mtime > _PARTIAL_AGE:
                    found.unlink()
    entries.sort()
    for _mtime, old in entries[: max(0, len(entries) - CACHE_ENTRIES_PER_FOLDER + 1)]:
        old.unlink(missing_ok=True)


def _read_own_file(entry: Path) -> str:
    """An entry's text, if it is a regular file of this user's (never through a link)."""
    fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        status = os.fstat(f.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_uid != _user():
            raise ValueError("not an entry this cache wrote")
        return f.read().decode("utf-8")


def _user() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


_warned: set[str] = set()


def _safe_folder(folder: Path, *, follow: bool) -> bool:
    """Whether a cache folder may be used, creating it (mode 0700) when it does not exist.

    A folder another user owns, or that others may write in, could hold
    entries planted to change decisions: it is refused with a one-line
    warning (once per process) and the run goes on without the cache. A
    folder that cannot be made or read is refused silently: that only costs speed.
    """
    try:
        created = False
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700, parents=follow)
            created = True
        status = folder.stat() if follow else folder.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(status.st_mode):
        problem = "is not a folder"
    elif status.st_uid != _user() and _user() != -1:
        problem = "belongs to another user"
    elif status.st_mode & 0o022:
        problem = "can be written by other users"
    else:
        if created and follow:
            with contextlib.suppress(OSError):
                (folder / "CACHEDIR.TAG").write_text(_CACHEDIR_TAG, encoding="utf-8")
        return True
    if not _warned:
        _warned.add(problem)
        shown = for_terminal(str(folder))
        print(f"policy-rules: warning: the parse cache folder {shown} {problem}, so it is not used; rule files are parsed instead", file=sys.stderr)
    return False


def cache_folder() -> Path | None:
    """Where parsed files are kept, made 0700 if new; None when the cache is off, there is no home folder, or the folder is unsafe."""
    chosen = os.environ.get("POLICY_RULES_CACHE", "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        root = Path(chosen)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or (str(Path.home() / ".cache") if os.environ.get("HOME") else "")
        if not base:
            return None
        root = Path(base) / "policy_rules"
    return root if _safe_folder(root, follow=True) else None


@functools.cache
def _code_digest() -> bytes:
    """What the cached ASTs depend on besides the files: Python, the grammar and the code that parses, builds and stores them."""
    h = hashlib.sha256(sys.version.encode())
    here = Path(__file__).resolve().parent
    for name in ("parser.py", "builder.py", "nodes.py", "errors.py", "ast_json.py"):
        h.update((here / name).read_bytes())
    h.update(grammar_text().encode())
    return h.digest()
