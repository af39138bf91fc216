"""The decision about one service: an immutable value with its trace and JSON form."""

from __future__ import annotations

from typing import Any, NamedTuple

from policy_rules.engine import trace as t

DECISION_SCHEMA_VERSION = "1.0"


# The small values of a decision are named tuples of text, like the decision
# itself: a register run may keep a hundred thousand decisions, and tuples of
# text are the values Python's garbage collector stops watching.


class PolicyInfo(NamedTuple):
    """Which rules made a decision: the policy's name, version and a digest of its files."""

    name: str
    version: str
    digest: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "digest": self.digest}


class ElementOutcome(NamedTuple):
    """The decision for one item of the list the policy decides element by element."""

    name: str
    outcome: str
    index: int  # the item's place in its list (it shadows ``tuple.index``, which nothing here needs)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome}


class Question(NamedTuple):
    """A needed fact, with the question an officer answers to supply it."""

    fact: str
    question: str

    def to_dict(self) -> dict[str, str]:
        return {"fact": self.fact, "question": self.question}


class Decision(NamedTuple):
    """What the policy decides for one service, and why.

    ``outcome`` and ``priority`` are outcome names or ``"undetermined"``;
    ``needed_facts`` lists exactly the missing facts whose values could change
    the outcome, the priority or an element outcome; ``results_needed`` the
    further ones that could change only one of the header's ``results``.

    A decision is an immutable named tuple: registers make one for every row,
    and a tuple is the cheapest immutable value Python builds (the generated
    fast path builds it with ``tuple.__new__``, without a Python frame).
    """

    service: str | None
    outcome: str
    priority: str | None
    reasons: tuple[str, ...]
    elements: tuple[ElementOutcome, ...]
    needed_facts: tuple[str, ...]
    questions: tuple[Question, ...]
    needed_facts_exact: bool
    trace: tuple[t.Event, ...]
    policy: PolicyInfo
    as_of: str
    decided_by: str | None = None
    #: The header's ``results``: each name, its value as the JSON decision gives it (null when unknown), and as shown (``£9,500``).
    results: tuple[tuple[str, Any, str], ...] = ()
    #: The missing facts that could change a result but not the outcome, the priority or an element outcome (those are ``needed_facts``).
    results_needed: tuple[str, ...] = ()

    @property
    def undetermined(self) -> bool:
        return self.outcome == "undetermined" or self.priority == "undetermined" or any(e.outcome == "undetermined" for e in self.elements)

    def to_dict(self) -> dict[str, Any]:
        """The JSON decision of ``interfaces.md``, plus a few documented extras."""
        return {
            "service": self.service,
            "outcome": self.outcome,
            "priority": self.priority,
            "reasons": list(self.reasons),
            "elements": [e.to_dict() for e in self.elements],
            "needed_facts": list(self.needed_facts),
            "questions": [q.to_dict() for q in self.questions],
            "needed_facts_exact": self.needed_facts_exact,
            "decided_by": self.decided_by,
            "as_of": self.as_of,
            "trace": [e.to_dict() for e in self.trace],
            "policy": self.policy.to_dict(),
            "schema_version": DECISION_SCHEMA_VERSION,
            **({"results": {name: value for name, value, _shown in self.results}, "results_needed": list(self.results_needed)} if self.results else {}),
        }
