"""Errors are values: every problem a user can cause is a ``PolicyError``.

A rule file's problems are collected as ``Diagnostic`` values (all of them, not
just the first) and raised together in one ``RuleFileError``. Facts problems
name the file, the service and the fact. Nothing here ever shows a traceback:
the command line prints ``str(error)``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Sequence

import attrs

from policy_rules.safety.escape import for_terminal


@attrs.frozen
class Span:
    """A place in a rule file: 1-based line and column, inclusive start (where a node of the language sits, where a finding points)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def short(self) -> str:
        """``PATH:LINE``, the form the trace uses."""
        return f"{self.path}:{self.line}"


@attrs.frozen
class Diagnostic:
    """One finding about a rule file, at a place in it."""

    severity: str  # "error" | "warning"
    span: Span
    message: str
    source_line: str = ""

    @property
    def location(self) -> str:
        return str(self.span)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.path, self.span.line, self.span.column, self.message)

    def format(self) -> str:
        """``PATH:LINE:COL: error: MESSAGE`` then the line with a caret under the column.

        The path, the message and the quoted line come from files someone else
        may have written, so control characters in them are shown, not sent to
        the terminal; the caret still stands under the column the parser counted.
        """
        head = for_terminal(f"{self.span}: {self.severity}: {self.message}")
        if not self.source_line:
            return head
        text, caret = _excerpt(self.source_line.rstrip("\r\n"), self.span.column)
        return f"{head}\n    {text}\n    {caret}"


#: Lines up to this many characters are quoted whole under a message.
EXCERPT_LINE_LIMIT = 500
#: How much of a longer line is quoted, around the column: a line of a million
#: characters (or the same line under a thousand findings) must not flood a log.
EXCERPT_WIDTH = 160


def _excerpt(line: str, column: int) -> tuple[str, str]:
    """The line as shown (control characters visible, a very long one cut around ``column``) and a caret under ``column``."""
    at = max(column - 1, 0)
    start, end = 0, len(line)
    if len(line) > EXCERPT_LINE_LIMIT:
        start = max(0, min(at - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
        end = start + EXCERPT_WIDTH
    before = ("..." if start else "") + for_terminal(line[start:at].replace("\t", " "))
    shown = before + for_terminal(line[at:end].replace("\t", " ")) + ("..." if end < len(line) else "")
    return shown, " " * len(before) + "^"


class PolicyError(Exception):
    """Base of every error a user of policy_rules can cause."""

    location: str = ""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        """The message as a terminal shows it: names and values quoted from files cannot send control characters."""
        text = f"{self.location}: error: {self.message}" if self.location else f"error: {self.message}"
        return for_terminal(text)


class RuleFileError(PolicyError):
    """Rule files that do not parse or do not check; carries every finding."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else self.diagnostics[0]
        super().__init__(first.message, first.location)

    def __str__(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class FactsError(PolicyError):
    """A facts file or mapping that cannot be used: says the file, service and fact."""

    def __init__(self, message: str, *, path: str = "", service: str | None = None, fact: str | None = None) -> None:
        self.path = path
        self.service = service
        self.fact = fact
        parts = [p for p in (path, f"service {service!r}" if service is not None else None, f"fact {fact!r}" if fact else None) if p]
        super().__init__(message, ": ".join(parts))


class ConflictError(PolicyError):
    """Two exceptions at the same level apply with different outcomes: the rules must say which wins (agreeing ones do not conflict)."""

    def __init__(self, decision: str, labels: Sequence[str], spans: Sequence[Span], service: str | None = None) -> None:
        self.decision = decision
        self.labels = tuple(labels)
        self.spans = tuple(spans)
        where = " and ".join(f"rule {label} ({span})" for label, span in zip(labels, spans, strict=True))
        who = f" for service {service!r}" if service else ""
        super().__init__(
            f"conflict in decision {decision}{who}: {where} both apply with different outcomes and neither is an exception to the other; "
            "make one of them an exception to the other",
            str(spans[0]) if spans else "",
        )


class UsageError(PolicyError):
    """The command line was given arguments it cannot use."""


class LimitError(PolicyError):
    """An input exceeds a limit that protects the machine."""


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The declared name most like ``name``, for "did you mean" hints."""
    pool = sorted(set(candidates))
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` or nothing."""
    best = nearest(name, candidates)
    return f"; did you mean `{best}`?" if best else ""


def text_lines(text: str) -> list[str]:
    """The lines of a rule file as the parser counts them: split at ``\n`` only.

    ``str.splitlines`` also splits at a form feed, ``\r``, U+0085 and U+2028,
    which the parser reads as ordinary characters; a line number from the
    parser must find the same line here.
    """
    return text.split("\n")


@functools.lru_cache(maxsize=8)
def _lines_of(text: str) -> list[str]:
    return text_lines(text)


def source_line(text: str, line: int) -> str:
    """The line of a file a diagnostic points at, as written.

    The lines of the last few files are kept, so that the many findings of one
    file share its lines instead of each splitting (and copying) the whole text.
    """
    lines = _lines_of(text)
    return lines[line - 1] if 1 <= line <= len(lines) else ""
