"""The explanation trace: a tree of typed events, recorded once, rendered many ways.

Every event is an immutable named tuple with a ``to_dict`` that gives its JSON
form (documented by ``schema/decision.schema.json``). Renderers for text, JSON
and Markdown all read these events; none re-evaluates anything.

Named tuples, not attrs classes, because an explanation of a large policy
makes thousands of events (one ``RuleConsidered`` and one ``Condition`` for
every rule considered): a named tuple is built in C by ``tuple.__new__``,
without a Python frame, where a frozen attrs class with eleven fields took
six times as long. ``_replace`` gives a changed copy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

TRACE_SCHEMA_VERSION = "1.0"


class Citation(NamedTuple):
    document: str
    title: str
    section: str
    paragraph: str | None = None

    def __str__(self) -> str:
        para = f", {self.paragraph}" if self.paragraph else ""
        return f'{self.title}, section "{self.section}"{para}'

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"document": self.document, "title": self.title, "section": self.section}
        if self.paragraph:
            d["paragraph"] = self.paragraph
        return d


class Read(NamedTuple):
    """A value that a condition read: a fact, a field of a list item, a defined value, a parameter or a decision."""

    kind: str  # "fact" | "field" | "defined" | "parameter" | "decision"
    name: str
    value: Any  # JSON-ready; None when unknown
    shown: str  # as an officer reads it
    known: bool

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "value": self.value, "shown": self.shown, "known": self.known}


class Condition(NamedTuple):
    """A rule's or a defined value's condition: its text, its value, what it read, what failed."""

    text: str
    value: str  # "true" | "false" | "unknown"
    reads: tuple[Read, ...]
    failed: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "value": self.value,
            "reads": [r.to_dict() for r in self.reads],
            "failed_parts": list(self.failed),
            "unknown_parts": list(self.unknown),
        }


class RuleConsidered(NamedTuple):
    """One rule of a decision, as it was considered, with the exceptions to it."""

    label: str
    decision: str
    kind: str  # "default" | "exception"
    location: str
    citations: tuple[Citation, ...]
    because: str | None
    status: str  # "decided" | "applies" | "overridden" | "does_not_apply" | "unknown" | "not_needed"
    conclusion: str  # the outcome it gives (or would give)
    condition: Condition | None
    exceptions: tuple[RuleConsidered, ...] = ()
    overridden_by: str | None = None
    table: str | None = None  # the first-of table the rule is a row of

    def to_dict(self) -> dict[str, Any]:
        found = {
            "type": "rule",
            "label": self.label,
            "decision": self.decision,
            "kind": self.kind,
            "location": self.location,
            "citations": [c.to_dict() for c in self.citations],
            "because": self.because,
            "status": self.status,
            "conclusion": self.conclusion,
            "condition": self.condition.to_dict() if self.condition else None,
            "overridden_by": self.overridden_by,
            "exceptions": [e.to_dict() for e in self.exceptions],
        }
        if self.table is not None:
            found["table"] = self.table
        return found

    def walk(self) -> list[RuleConsidered]:
        found = [self]
        for e in self.exceptions:
            found.extend(e.walk())
        return found


class ValueWorkedOut(NamedTuple):
    """A defined value (``define``), worked out once for the service."""

    name: str
    value: Any
    shown: str
    location: str
    citations: tuple[Citation, ...]
    because: str | None
    condition: Condition
    #: For an amount, its formula with the value of every name it reads and the result (``engine.calculation``).
    calculation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found = {
            "type": "defined_value",
            "name": self.name,
            "value": self.value,
            "shown": self.shown,
            "location": self.location,
            "citations": [c.to_dict() for c in self.citations],
            "because": self.because,
            "condition": self.condition.to_dict(),
        }
        if self.calculation is not None:
            found["calculation"] = self.calculation
        return found


class DecisionMade(NamedTuple):
    """A decision (for the service, or for one item of a list) and the rule tree that made it."""

    decision: str
    item: str | None
    value: str  # an outcome, a valued decision's value as shown (£9,500), or "undetermined"
    decided_by: str | None
    rule: RuleConsidered | None
    #: For a valued decision, the deciding rule's formula with the value of every name it reads and the result.
    calculation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found = {
            "type": "decision",
            "decision": self.decision,
            "item": self.item,
            "value": self.value,
            "decided_by": self.decided_by,
            "rules": self.rule.to_dict() if self.rule else None,
        }
        if self.calculation is not None:
            found["calculation"] = self.calculation
        return found


class NeededFacts(NamedTuple):
    """Why the decision is not settled: the missing facts whose values could change it."""

    facts: tuple[str, ...]
    questions: tuple[str, ...]
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return {"type": "needed_facts", "facts": list(self.facts), "questions": list(self.questions), "exact": self.exact}


class FactsGiven(NamedTuple):
    """What the evaluation was told, and which declared facts were missing."""

    given: tuple[Read, ...]
    missing: tuple[str, ...]
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "facts", "given": [r.to_dict() for r in self.given], "missing": list(self.missing), "as_of": self.as_of}


Event = FactsGiven | ValueWorkedOut | DecisionMade | NeededFacts
