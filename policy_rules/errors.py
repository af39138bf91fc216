"""Errors are values: every problem a user can cause is a ``PolicyError``.

A rule file's problems are collected as ``Diagnostic`` values (all of them, not
just the first) and raised together in one ``RuleFileError``. Facts problems
name the file, the service and the fact. Nothing here ever shows a traceback:
the command line prints ``str(error)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import attrs

from policy_rules.nodes import Span


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
        """``PATH:LINE:COL: error: MESSAGE`` then the line with a caret under the column."""
        head = f"{self.span}: {self.severity}: {self.message}"
        if not self.source_line:
            return head
        text = self.source_line.expandtabs(1).rstrip("\n")
        caret = " " * max(self.span.column - 1, 0) + "^"
        return f"{head}\n    {text}\n    {caret}"


class PolicyError(Exception):
    """Base of every error a user of policy_rules can cause."""

    location: str = ""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: error: {self.message}" if self.location else f"error: {self.message}"


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
    """Two exceptions at the same level both apply: the rules must say which wins."""

    def __init__(self, decision: str, labels: Sequence[str], spans: Sequence[Span], service: str | None = None) -> None:
        self.decision = decision
        self.labels = tuple(labels)
        self.spans = tuple(spans)
        where = " and ".join(f"rule {label} ({span})" for label, span in zip(labels, spans, strict=True))
        who = f" for service {service!r}" if service else ""
        super().__init__(
            f"conflict in decision {decision}{who}: {where} both apply and neither is an exception to the other; "
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


def source_line(text: str, line: int) -> str:
    """The line of a file a diagnostic points at, as written."""
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else ""
