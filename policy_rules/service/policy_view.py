"""What the service says about rules: the loaded policy described for a client, and rule files checked on request.

``GET /v1/policy`` lets a case-management system build its forms from the
policy itself (each fact's type, allowed values and question), and
``POST /v1/check`` gives an editor the findings ``policy-rules check`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policy_rules.api import Policy
    from policy_rules.language.nodes import TypeRef

MAX_NAME = 200


def _type(ref: TypeRef) -> dict[str, Any]:
    shown: dict[str, Any] = {"type": ref.kind}
    if ref.values:
        shown["values"] = list(ref.values)
    if ref.record:
        shown["record"] = ref.record
    return shown


def describe(policy: Policy) -> dict[str, Any]:
    """The policy as ``GET /v1/policy`` gives it: header, facts, records, decisions with their outcomes."""
    model = policy.model
    facts = []
    for name, decl in model.facts.items():
        fact = {"name": name, **_type(decl.type), "means": decl.means, "question": policy.question(name)}
        if decl.default is not None:
            fact["default"] = decl.default.text
        facts.append(fact)
    records = [
        {
            "name": record.name,
            "means": record.means,
            "fields": [{"name": f.name, **_type(f.type), "means": f.means, "question": f.asks, "optional": f.default is not None} for f in record.fields],
        }
        for record in model.records.values()
    ]
    decisions = [
        {
            "name": d.name,
            "means": d.means,
            "outcomes": [o.name for o in d.outcomes],
            "for_each": d.for_each.collection.name if d.for_each else None,
        }
        for d in model.decisions.values()
    ]
    return {
        "policy": policy.info.to_dict(),
        "service_name": model.service_name,
        "outcome": model.outcome,
        "priority": model.priority,
        "reasons": model.reasons,
        "element_outcomes": model.element_outcomes,
        "facts": facts,
        "records": records,
        "decisions": decisions,
    }


def diagnostics_of(files: Mapping[str, str]) -> dict[str, Any] | str:
    """The findings of ``check`` on rule files given as text, or what is wrong with the request (as text)."""
    from policy_rules.language.loader import analyse

    if not files:
        return 'give at least one rule file: {"files": {"NAME.rules": "TEXT"}}'
    for name in files:
        if not name.endswith(".rules") or len(name) > MAX_NAME or not name[:-6].strip():
            return f"a rule file's name ends in .rules and has at most {MAX_NAME} characters; `{name[:MAX_NAME]}` does not"
    try:
        _model, found = analyse(dict(files), "checked files", cached=False)  # text anyone may send: never kept in the parse cache
    except RecursionError:
        return "a rule file is nested too deeply to read"
    return {
        "errors": sum(d.severity == "error" for d in found),
        "warnings": sum(d.severity == "warning" for d in found),
        "diagnostics": [
            {
                "severity": d.severity,
                "path": d.span.path,
                "line": d.span.line,
                "column": d.span.column,
                "message": d.message,
                "text": d.format(),
            }
            for d in found
        ],
    }


_YES_NO = {"type": "boolean"}
_NAMES = {"type": "array", "items": {"type": "string"}}
_TYPED = {
    "type": {"type": "string"},
    "values": _NAMES,
    "record": {"type": "string"},
}
_TEXT_OR_NULL = {"type": ["string", "null"]}

POLICY_SCHEMAS: dict[str, Any] = {
    "PolicyDescription": {
        "type": "object",
        "additionalProperties": False,
        "required": ["policy", "service_name", "outcome", "priority", "reasons", "element_outcomes", "facts", "records", "decisions"],
        "properties": {
            "policy": {"$ref": "#/components/schemas/decision_policy"},
            "service_name": _TEXT_OR_NULL,
            "outcome": _TEXT_OR_NULL,
            "priority": _TEXT_OR_NULL,
            "reasons": _TEXT_OR_NULL,
            "element_outcomes": _TEXT_OR_NULL,
            "facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "type", "means", "question"],
                    "properties": {"name": {"type": "string"}, **_TYPED, "means": _TEXT_OR_NULL, "question": {"type": "string"}, "default": {"type": "string"}},
                },
            },
            "records": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "means", "fields"],
                    "properties": {
                        "name": {"type": "string"},
                        "means": _TEXT_OR_NULL,
                        "fields": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name", "type", "means", "question", "optional"],
                                "properties": {
                                    "name": {"type": "string"},
                                    **_TYPED,
                                    "means": _TEXT_OR_NULL,
                                    "question": _TEXT_OR_NULL,
                                    "optional": {"type": "boolean"},
                                },
                            },
                        },
                    },
                },
            },
            "decisions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "means", "outcomes", "for_each"],
                    "properties": {
                        "name": {"type": "string"},
                        "means": _TEXT_OR_NULL,
                        "outcomes": {"type": "array", "items": {"type": "string"}},
                        "for_each": _TEXT_OR_NULL,
                    },
                },
            },
        },
    },
    "CheckResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["errors", "warnings", "diagnostics"],
        "properties": {
            "errors": {"type": "integer", "minimum": 0},
            "warnings": {"type": "integer", "minimum": 0},
            "diagnostics": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["severity", "path", "line", "column", "message", "text"],
                    "properties": {
                        "severity": {"enum": ["error", "warning"]},
                        "path": {"type": "string"},
                        "line": {"type": "integer"},
                        "column": {"type": "integer"},
                        "message": {"type": "string"},
                        "text": {"type": "string", "description": "The finding as `check` prints it: PATH:LINE:COL: error: MESSAGE, and the line."},
                    },
                },
            },
        },
    },
}
