"""The schemas the OpenAPI document gives for what the service answers, beside those FastAPI makes from the request models.

The JSON decision is described once, by ``schema/decision.schema.json``; its
definitions are brought into ``components/schemas`` here (``decision_NAME``),
so the document and the command line's JSON cannot drift apart. Two changes
are made for HTTP: the trace may be empty (``"trace": false`` asks for a
decision without it), and a recorded decision adds the register's keys.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

PREFIX = "decision_"


@cache
def decision_schema() -> dict[str, Any]:
    """``schema/decision.schema.json``, from the installed package or, in a checkout, ``schema/``."""
    packaged = resources.files("policy_rules").joinpath("schema/decision.schema.json")
    if packaged.is_file():
        return json.loads(packaged.read_text(encoding="utf-8"))
    return json.loads((Path(__file__).resolve().parents[2] / "schema" / "decision.schema.json").read_text(encoding="utf-8"))


def _rewritten(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (f"#/components/schemas/{PREFIX}{v.rsplit('/', 1)[1]}" if k == "$ref" and isinstance(v, str) else _rewritten(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewritten(v) for v in node]
    return node


ERROR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["message", "location"],
            "properties": {
                "message": {"type": "string", "description": "What is wrong and what to do, in words an officer understands."},
                "location": {"type": "string", "description": "Where: the field of the request, the service and the fact, or the rule file's PATH:LINE:COL."},
            },
        }
    },
}

OVERRIDE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "decision_id", "outcome", "reason", "by", "recorded_by", "recorded_at"],
    "properties": {
        "id": {"type": "integer"},
        "decision_id": {"type": "integer"},
        "outcome": {"type": "string", "description": "The outcome the officer decided, against the rules' outcome."},
        "reason": {"type": "string"},
        "by": {"type": "string", "description": "The officer who decided."},
        "recorded_by": {"type": "string", "description": "Who recorded it: the holder of the token used, or `local`."},
        "recorded_at": {"type": "string", "description": "When, in UTC."},
    },
}

_RECORD_KEYS = {
    "id": {"type": "integer", "minimum": 1},
    "recorded_at": {"type": "string", "description": "When the decision was recorded, in UTC (YYYY-MM-DDTHH:MM:SS.ffffffZ)."},
    "recorded_by": {"type": "string", "description": "Who recorded it: the holder of the token used, or `local`."},
    "facts": {"type": "object", "description": "The facts as they were given."},
    "overrides": {"type": "array", "items": {"$ref": "#/components/schemas/Override"}},
}
#: Keys a recorded decision may carry besides those every one has.
_RECORD_MAY = {
    "trace_replayed": {
        "enum": ["same", "different", "unavailable"],
        "description": (
            "Present when the register kept a compact trace and the whole one was derived again from the facts and the kept rules: "
            "`same` when it matches the digest kept with the decision, `different` when the engine now explains it otherwise, "
            "`unavailable` when the kept rules or facts no longer evaluate (the trace is then the compact one kept)."
        ),
    },
}

SUMMARY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "recorded_at", "recorded_by", "service", "outcome", "as_of", "policy", "overridden_to"],
    "properties": {
        "id": {"type": "integer"},
        "recorded_at": {"type": "string"},
        "recorded_by": {"type": "string"},
        "service": {"type": ["string", "null"]},
        "outcome": {"type": "string"},
        "as_of": {"type": "string"},
        "policy": {"$ref": f"#/components/schemas/{PREFIX}policy"},
        "overridden_to": {"type": ["string", "null"], "description": "The outcome of the latest override, if any."},
    },
}


def components() -> dict[str, Any]:
    """Every schema the responses refer to, ready to merge into ``components/schemas``."""
    source = decision_schema()
    found: dict[str, Any] = {PREFIX + name: _rewritten(body) for name, body in source.get("$defs", {}).items()}
    decision = _rewritten({k: v for k, v in source.items() if k not in ("$schema", "$id", "$defs")})
    trace = decision["properties"]["trace"]
    trace.pop("minItems", None)
    trace.pop("prefixItems", None)
    trace["description"] += " Empty when the request asked for no trace."
    found[PREFIX + "policy"] = decision["properties"]["policy"]
    recorded = copy.deepcopy(decision)
    recorded["title"] = "A recorded decision"
    recorded["properties"].update(_RECORD_KEYS)
    recorded["properties"].update(_RECORD_MAY)
    recorded["required"] = [*recorded["required"], *_RECORD_KEYS]
    found["Decision"] = decision
    found["RecordedDecision"] = recorded
    found["Error"] = ERROR
    found["Override"] = OVERRIDE
    found["DecisionSummary"] = SUMMARY
    found["DecisionList"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["decisions"],
        "properties": {"decisions": {"type": "array", "items": {"$ref": "#/components/schemas/DecisionSummary"}}},
    }
    found["BatchResults"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "description": "One result per service, in the order given: its decision, or the error that kept it from being decided.",
                "items": {
                    "oneOf": [
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["index", "decision"],
                            "properties": {"index": {"type": "integer"}, "decision": {"$ref": "#/components/schemas/Decision"}},
                        },
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["index", "error"],
                            "properties": {"index": {"type": "integer"}, "error": ERROR["properties"]["error"]},
                        },
                    ]
                },
            }
        },
    }
    return found


def schema_ref(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
