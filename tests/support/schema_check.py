"""Check decisions against ``schema/decision.schema.json``: ``validate_decision(d)`` for any test.

Usage::

    from tests.support.schema_check import validate_decision

    validate_decision(policy.evaluate(facts))        # a Decision
    validate_decision(json.loads(output))             # or its JSON form

A failure is an ``AssertionError`` listing every place where the JSON breaks
the schema, as ``path.to.field: message``. The schema describes decisions made
with the trace on (the JSON decision); one made with ``trace=False`` has an
empty trace and is checked with ``trace=False`` here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from policy_rules import Decision

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "decision.schema.json"


@cache
def decision_schema() -> dict[str, Any]:
    """The schema, read once."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(trace: bool) -> Draft202012Validator:
    schema = decision_schema()
    if not trace:
        schema = {**schema, "properties": {**schema["properties"], "trace": {"type": "array", "maxItems": 0}}}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(decision: Decision | dict[str, Any], *, trace: bool = True) -> list[str]:
    """Every way the decision's JSON breaks the schema; empty when it conforms."""
    data = decision.to_dict() if isinstance(decision, Decision) else decision
    data = json.loads(json.dumps(data))  # exactly what a JSON reader would see
    errors = sorted(_validator(trace).iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors]


def validate_decision(decision: Decision | dict[str, Any], *, trace: bool = True) -> None:
    """Fail with every schema error when the decision does not follow ``schema/decision.schema.json``."""
    errors = schema_errors(decision, trace=trace)
    assert not errors, "the decision does not follow schema/decision.schema.json:\n" + "\n".join(errors[:20])


@pytest.fixture
def decision_validator() -> Any:
    """The same check as a fixture: ``def test_x(decision_validator): decision_validator(d)``.

    Import it into a test module (``from tests.support.schema_check import decision_validator``) to use it.
    """
    return validate_decision
