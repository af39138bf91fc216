"""Reading rule files and checking them: files to diagnostics and a checked model.

This is the front half of the pipeline (parser -> builder -> checker), kept
apart from the evaluator so that ``policy-rules check`` loads only what it
needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from policy_rules import nodes as n
from policy_rules.builder import build
from policy_rules.checker import PolicyModel, check
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError
from policy_rules.parser import MAX_NESTING, MAX_RULE_FILE_BYTES, first_bracket_beyond, parse_text, source_line

RULE_FILE_SUFFIX = ".rules"


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
        too_deep = first_bracket_beyond(text, MAX_NESTING)
        if too_deep is not None:
            line, column = too_deep
            span = n.Span(path, line, column, line, column)
            message = f"brackets are nested more than {MAX_NESTING} deep; split the expression into defined values"
            diagnostics.append(Diagnostic("error", span, message, source_line(text, line)))
            continue
        try:
            tree, errors = parse_text(text, path)
        except RecursionError:
            tree, errors = None, [Diagnostic("error", n.Span(path, 1, 1, 1, 1), "this file is nested too deeply to read")]
        diagnostics.extend(errors)
        if tree is None:
            continue
        ast, errors = build(tree, path, text)
        diagnostics.extend(errors)
        if ast is not None:
            files.append(ast)
    if any(d.severity == "error" for d in diagnostics):
        return None, sorted(diagnostics, key=Diagnostic.sort_key)
    model = check(files, dict(sources), title)
    diagnostics.extend(model.diagnostics)
    return model, sorted(diagnostics, key=Diagnostic.sort_key)
