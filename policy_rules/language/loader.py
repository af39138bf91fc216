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
JSON (``policy_rules/language/ast_json.py``), never pickle, so reading one cannot run
code; each records the key it was stored under, checked on reading. The cache
is the user's own: its folders are made 0700, and one that another user owns
or others can write in is refused with a warning, since its entries could
have been planted to change decisions. It is bounded in bytes (64 MiB, or
``$POLICY_RULES_CACHE_BYTES``; the oldest entries go first) and in entries
(32 in each of its 256 folders), and only rule files read from disk are kept
in it: text sent to the service to be checked never is. Clean-up removes
only files named as its own entries. ``POLICY_RULES_CACHE=off`` turns it off, and anything wrong
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from policy_rules.errors import Diagnostic, PolicyError, RuleFileError, source_line
from policy_rules.language import ast_json
from policy_rules.language import nodes as n
from policy_rules.language.checker import PolicyModel, check
from policy_rules.language.resources import grammar_text
from policy_rules.safety.escape import for_terminal

RULE_FILE_SUFFIX = ".rules"
MAX_RULE_FILE_BYTES = 2_000_000


def rule_files(path: str | Path) -> list[tuple[str, Path]]:
    """The rule files of a file or folder (read recursively), in a stable order, with display paths.

    Links that lead outside the policy folder and entries that cannot be
    listed are left out here; ``read_sources`` reports them.
    """
    return _find_rule_files(path)[0]


def _find_rule_files(path: str | Path) -> tuple[list[tuple[str, Path]], list[Diagnostic]]:
    """The rule files of a file or folder, and a problem for each entry refused.

    The policy folder is the folder named, or a single file's own folder. A
    link inside it may lead to another place inside it, never outside: a rule
    file linked to ``~/.git-credentials`` would otherwise have its first line
    quoted in an error, into a CI log. A linked folder is not followed (what it
    holds inside the policy folder is read where it really is), so links that
    go round in a loop cannot make the search endless.
    """
    p = Path(path)
    if not p.is_dir():
        return _admit(str(path), p, p.parent.resolve())
    root = p.resolve()
    found: list[tuple[Path, Path]] = []
    problems: list[Diagnostic] = []
    folders = [Path()]
    while folders:
        relative = folders.pop()
        try:
            with os.scandir(p / relative) as listing:
                entries = list(listing)
        except OSError as error:
            problems.append(_file_problem(str(Path(path) / relative), f"this folder cannot be read ({_reason(error)}); check that you may read it"))
            continue
        for entry in entries:
            inner = relative / entry.name
            is_rule_file = entry.name.endswith(RULE_FILE_SUFFIX)
            if entry.is_symlink():
                files, refused = _admit(str(Path(path) / inner), Path(entry.path), root, rule_file=is_rule_file)
                problems.extend(refused)
                found.extend((inner, real) for _shown, real in files)
            elif entry.is_dir(follow_symlinks=False):
                folders.append(inner)
            elif is_rule_file:
                found.append((inner, Path(entry.path)))
    found.sort()
    return [(str(Path(path) / inner), real) for inner, real in found], problems


def _admit(shown: str, entry: Path, root: Path, *, rule_file: bool = True) -> tuple[list[tuple[str, Path]], list[Diagnostic]]:
    """One named file or link: kept when it leads to a place inside ``root``; a linked folder is never followed."""
    if not entry.is_symlink():
        return [(shown, entry)], []
    try:
        target = entry.resolve(strict=True)
    except (OSError, RuntimeError):  # a missing target, or links that go round in a loop
        message = "this link leads nowhere (its target is missing, or the links go round in a loop), so it is not read"
        return [], [_file_problem(shown, message)] if rule_file else []
    is_folder = target.is_dir()
    if not target.is_relative_to(root):
        if not (rule_file or is_folder):
            return [], []
        kind = "folder" if is_folder else "file"
        message = f"this is a link to a {kind} outside the policy folder, so it is not read; copy the {kind} into the policy folder instead"
        return [], [_file_problem(shown, message)]
    if is_folder or not rule_file:
        return [], []
    return [(shown, target)], []


def _file_problem(shown: str, message: str) -> Diagnostic:
    return Diagnostic("error", n.Span(shown, 1, 1, 1, 1), message)


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


_NOT_REGULAR = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> str | None:
    """What a file that is not an ordinary file is, in words, or None for an ordinary one."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _NOT_REGULAR if test(mode)), "not an ordinary file")


def _read_rule_file(shown: str, real: Path) -> bytes | Diagnostic:
    """At most ``MAX_RULE_FILE_BYTES`` bytes of an ordinary file, or the problem that stops it being read.

    A pipe or a device (``/dev/zero``) is refused before it is opened for
    reading, and checked again once open; the limit is on the bytes actually
    read, so a file that grows, or lies about its size, cannot get past it.
    """
    not_text = "so it is not read; a rule file is an ordinary text file"
    try:
        what = _not_regular(os.stat(real).st_mode)
        if what is not None:
            return _file_problem(shown, f"this is {what}, {not_text}")
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            what = _not_regular(os.fstat(f.fileno()).st_mode)
            if what is not None:
                return _file_problem(shown, f"this is {what}, {not_text}")
            data = f.read(MAX_RULE_FILE_BYTES + 1)
    except OSError as error:
        return _file_problem(shown, f"this file cannot be read ({_reason(error)}); check that it exists and that you may read it")
    if len(data) > MAX_RULE_FILE_BYTES:
        return _file_problem(shown, f"the file is larger than the limit of {MAX_RULE_FILE_BYTES:,} bytes for a rule file; split it into several files")
    return data


def read_sources(paths: Iterable[str | Path]) -> dict[str, str]:
    """The text of every rule file named or found in the folders named.

    A path that does not exist is an unusable argument (``PolicyError``); a
    rule file that cannot be read as text (or is refused: a link out of the
    policy folder, a pipe, a device, a file too large) is an error in that
    file, reported with the others in one ``RuleFileError``.
    """
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise PolicyError("there is no such file or folder; check the path", str(path))
        files, refused = _find_rule_files(path)
        problems.extend(refused)
        if not files and not refused:
            raise PolicyError(f"this folder holds no rule files (files ending in {RULE_FILE_SUFFIX})", str(path))
        for shown, real in files:
            data = _read_rule_file(shown, real)
            if isinstance(data, Diagnostic):
                problems.append(data)
                continue
            if b"\x00" in data:
                problems.append(_file_problem(shown, "this is not a text file; rule files are plain text"))
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


_POLICY_HEADER = re.compile(r'^policy[ \t]+"', re.MULTILINE)


def policies(sources: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The rule files grouped policy by policy: each folder holding a policy header is one, with every file below it.

    A folder such as the repository's ``rules/`` holds several policy folders;
    read as one policy they would give "a second policy header" and a
    duplicate for every name they share. A file belongs to the nearest folder
    above it that holds a header; with fewer than two such folders the files
    are one policy (named ``""``), as before. The header is found in the text,
    without parsing: it is the one declaration that starts ``policy "``.
    """
    homes = sorted({Path(p).parent for p, text in sources.items() if _POLICY_HEADER.search(text)}, key=lambda f: len(f.parts), reverse=True)
    if len(homes) < 2:
        return [("", dict(sources))]
    groups: dict[str, dict[str, str]] = {}
    for path, text in sources.items():
        folder = Path(path).parent
        home = next((h for h in homes if folder.is_relative_to(h)), None)
        groups.setdefault(str(home) if home is not None else "", {})[path] = text
    return list(groups.items())


def refuse_one_file_of_a_policy(paths: Sequence[str | Path], sources: Mapping[str, str]) -> None:
    """One rule file without a policy header, given where its folder (or one above) holds the policy (one header): one error asking for the folder.

    Read alone, such a file names facts and rules declared in the other files,
    and every one of them would be an error of its own.
    """
    if len(paths) != 1 or len(sources) != 1 or not Path(paths[0]).is_file() or any(_POLICY_HEADER.search(t) for t in sources.values()):
        return
    given = Path(paths[0])
    for folder in [given.parent, *list(given.parent.parents)[:3]]:
        try:
            others = [f for f in folder.glob(f"*{RULE_FILE_SUFFIX}") if f.is_file() and f.resolve() != given.resolve()]
            headers = sum(bool(_POLICY_HEADER.search(_start_of(f))) for f in others)
        except OSError:
            return
        if headers > 1:  # a folder of separate policies, each a file, such as examples of mistakes
            return
        if headers:
            raise PolicyError(f"this is one file of the policy in the folder {folder}; give the folder, which holds all its rule files", str(paths[0]))


def _start_of(path: Path) -> str:
    with path.open("rb") as file:
        return file.read(1 << 20).decode("utf-8", errors="replace")


def digest_of(sources: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    names = {name: Path(name).name for name in sources}
    for name in sorted(sources, key=lambda x: (names[x], x)):
        h.update(names[name].encode())
        h.update(b"\0")
        h.update(sources[name].encode())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def analyse(
    sources: Mapping[str, str],
    title: str,
    read: Callable[[str, str], tuple[n.RuleFile | None, list[Diagnostic]]] | None = None,
    *,
    cached: bool = True,
) -> tuple[PolicyModel | None, list[Diagnostic]]:
    """Parse, build and check some rule files: the model and every diagnostic, sorted.

    ``read`` parses one file (path, text); by default through the parse cache on disk. The language
    server passes its own, which keeps each file's AST in memory as it is typed. ``cached=False``
    for text that is not a user's own rule files (sent to the service to be checked): it is parsed
    without reading or writing the parse cache, so a stranger's requests cannot fill the disk.
    """
    files: list[n.RuleFile] = []
    diagnostics: list[Diagnostic] = []
    for path, text in sources.items():
        ast, errors = (read or (_read_cached if cached else parse_file))(path, text)
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
    from policy_rules.language.builder import build
    from policy_rules.language.parser import MAX_NESTING, first_bracket_beyond, parse_text

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
    with contextlib.suppress(OSError, ValueError, TypeError, RecursionError):  # no entry, or a damaged one: parse again
        return ast_json.loads(_read_own_file(entry), key, path)
    result = parse_file(path, text)
    # A node the cache cannot encode is a bug and propagates; a cache that cannot be written only costs speed.
    written = ast_json.dumps(key, *result)
    with contextlib.suppress(OSError):
        from policy_rules.safety.outputs import write_whole  # only when an entry is written: not on every check's start-up

        if len(written.encode()) <= cache_bytes():
            _make_room(folder)
            _keep_within_bytes(root, len(written.encode()))
            write_whole(entry, written, mode=0o600)
    return result


#: Entries kept in each of the cache's 256 subfolders; the oldest go first.
CACHE_ENTRIES_PER_FOLDER = 32
#: The most bytes the cache's entries take, unless ``POLICY_RULES_CACHE_BYTES`` says otherwise; the oldest go first.
CACHE_BYTES = 64 * 1024 * 1024


def cache_bytes() -> int:
    """The cache's cap in bytes: ``POLICY_RULES_CACHE_BYTES`` when it is a whole number, else ``CACHE_BYTES``."""
    given = os.environ.get("POLICY_RULES_CACHE_BYTES", "").strip()
    return int(given) if given.isdigit() else CACHE_BYTES


def _keep_within_bytes(root: Path, incoming: int) -> None:
    """Remove the oldest entries of the whole cache until ``incoming`` more bytes fit under its cap."""
    entries: list[tuple[float, int, Path]] = []
    for folder in root.iterdir():
        if len(folder.name) != 2 or not folder.is_dir() or folder.is_symlink():
            continue
        for found in folder.iterdir():
            if _ENTRY_NAME.fullmatch(found.name) and found.name.startswith(folder.name):
                with contextlib.suppress(OSError):
                    status = found.lstat()
                    entries.append((status.st_mtime, status.st_size, found))
    total = sum(size for _, size, _ in entries) + incoming
    for _mtime, size, old in sorted(entries):
        if total <= cache_bytes():
            break
        old.unlink(missing_ok=True)
        total -= size


_ENTRY_SUFFIX = ".json"
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.json")
_PARTIAL_NAME = re.compile(r"\.[0-9a-f]{64}\.json\.[A-Za-z0-9_]+\.part")
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
    for file in (here / "parser.py", here / "builder.py", here / "nodes.py", here.parent / "errors.py", here / "ast_json.py"):
        h.update(file.read_bytes())
    h.update(grammar_text().encode())
    return h.digest()
