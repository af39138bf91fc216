"""Renderers: one decision (and its trace) as text for officers, JSON, or Markdown.

Renderers only read the ``Decision`` and its trace events; they never evaluate.
Output is deterministic: the same decision always renders to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from policy_rules import trace as t
from policy_rules.decision import Decision

STATUS_WORDS = {
    "decided": "DECIDES",
    "applies": "applies",
    "overridden": "overridden",
    "does_not_apply": "does not apply",
    "unknown": "not known yet",
}


# --- JSON ------------------------------------------------------------------------------


def to_json(decisions: Sequence[Decision], *, single: bool) -> str:
    """One object for a single service, an array in input order for several."""
    data: Any = decisions[0].to_dict() if single and len(decisions) == 1 else [d.to_dict() for d in decisions]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- text: the summary ------------------------------------------------------------------


def _decided_by(decision: Decision) -> str:
    if not decision.decided_by:
        return ""
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.rule is not None:
            for rule in event.rule.walk():
                if rule.label == decision.decided_by:
                    return f" (rule {rule.label}, {rule.location})"
    return f" (rule {decision.decided_by})"


def summary_text(decision: Decision) -> str:
    """A few lines per service: outcome, priority, reasons, elements, what is needed."""
    lines = [f"Service: {decision.service or '(unnamed)'}", f"  Outcome: {decision.outcome}{_decided_by(decision)}"]
    if decision.priority is not None:
        lines.append(f"  Priority: {decision.priority}")
    if decision.reasons:
        lines.append(f"  Reasons: {', '.join(decision.reasons)}")
    if decision.elements:
        lines.append("  Elements:")
        lines.extend(f"    {e.name}: {e.outcome}" for e in decision.elements)
    if decision.needed_facts:
        lines.append("  Needed facts:")
        lines.extend(f"    {q.fact}: {q.question}" for q in decision.questions)
        if not decision.needed_facts_exact:
            lines.append("    (the search for needed facts stopped at its limit: this list may be longer than needed)")
    lines.append(f"  Policy: {decision.policy.name}, version {decision.policy.version}, {decision.policy.digest[:19]}, as at {decision.as_of}")
    return "\n".join(lines)


# --- text: the whole explanation ----------------------------------------------------------


def _reads(reads: Sequence[t.Read]) -> str:
    return ", ".join(f"{r.name} = {r.shown}" for r in reads)


def _cites(citations: Sequence[t.Citation]) -> str:
    return "; ".join(str(c) for c in citations)


def _condition_lines(condition: t.Condition | None, indent: str) -> list[str]:
    if condition is None:
        return []
    value = {"true": "yes", "false": "no", "unknown": "not known"}.get(condition.value, condition.value)
    lines = [f"{indent}when {condition.text}: {value}"]
    if condition.reads:
        lines.append(f"{indent}  read: {_reads(condition.reads)}")
    if condition.failed and condition.value == "false":
        lines.append(f"{indent}  why not: {'; '.join(condition.failed)} is not so")
    if condition.unknown and condition.value == "unknown":
        lines.append(f"{indent}  not known: {'; '.join(condition.unknown)}")
    return lines


def _rule_lines(rule: t.RuleConsidered, depth: int) -> list[str]:
    indent = "  " * depth
    status = STATUS_WORDS.get(rule.status, rule.status)
    if rule.status == "overridden" and rule.overridden_by:
        status = f"overridden by {rule.overridden_by}"
    verb = "gives" if rule.status in ("decided", "applies") else "would give"
    lines = [f"{indent}- [{status}] {rule.kind} rule {rule.label} {verb} {rule.conclusion}   ({rule.location})"]
    if rule.because:
        lines.append(f"{indent}    because {rule.because}")
    if rule.citations:
        lines.append(f"{indent}    cites {_cites(rule.citations)}")
    lines.extend(_condition_lines(rule.condition, indent + "    "))
    for exception in rule.exceptions:
        lines.extend(_rule_lines(exception, depth + 1))
    return lines


def explain_text(decision: Decision) -> str:
    """The whole trace, indented, in plain words, with the citations."""
    out = [summary_text(decision), ""]
    for event in decision.trace:
        if isinstance(event, t.FactsGiven):
            out.append(f"Facts given (as at {event.as_of}):")
            out.extend(f"  {r.name} = {r.shown}" for r in event.given)
            if event.missing:
                out.append(f"Facts not given (unknown): {', '.join(event.missing)}")
            out.append("")
            out.append("Values worked out:")
        elif isinstance(event, t.ValueWorkedOut):
            out.append(f"  {event.name} = {event.shown}   ({event.location})")
            if event.because:
                out.append(f"      because {event.because}")
            if event.citations:
                out.append(f"      cites {_cites(event.citations)}")
            out.append(f"      from {event.condition.text}")
            if event.condition.reads:
                out.append(f"      read: {_reads(event.condition.reads)}")
        elif isinstance(event, t.DecisionMade):
            who = f" for {event.item}" if event.item else ""
            by = f", decided by rule {event.decided_by}" if event.decided_by else ""
            out.append("")
            out.append(f"Decision {event.decision}{who}: {event.value}{by}")
            if event.rule is not None:
                out.extend(_rule_lines(event.rule, 1))
        elif isinstance(event, t.NeededFacts):
            out.append("")
            out.append("Not settled yet. Answer these to decide:")
            out.extend(f"  {fact}: {q}" for fact, q in zip(event.facts, event.questions, strict=True))
    return "\n".join(out).rstrip() + "\n"


# --- Markdown ----------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def markdown_report(decision: Decision) -> str:
    """A decision report for a cabinet paper or a case file."""
    name = decision.service or "(unnamed service)"
    lines = [f"# Decision: {_md(name)}", ""]
    sentence = f"**Outcome: `{decision.outcome}`**"
    if decision.priority is not None:
        sentence += f"; priority in the programme: **`{decision.priority}`**"
    lines.append(sentence + ".")
    lines.append("")
    if decision.decided_by:
        lines.append(f"Decided by rule `{decision.decided_by}`{_md(_decided_by(decision).replace(f'rule {decision.decided_by}, ', ''))}.")
        lines.append("")
    deciding = [e for e in decision.trace if isinstance(e, t.DecisionMade) and e.rule is not None]
    top = next((e for e in deciding if e.decided_by == decision.decided_by and e.item is None), None)
    if top is not None and top.rule is not None:
        for rule in top.rule.walk():
            if rule.label == decision.decided_by:
                if rule.because:
                    lines.append(f"Because {_md(rule.because)}.")
                if rule.citations:
                    lines.append(f"Policy: {_md(_cites(rule.citations))}.")
                lines.append("")
    if decision.reasons:
        lines.append("## Reasons to prioritise")
        lines.extend(f"- `{r}`" for r in decision.reasons)
        lines.append("")
    if decision.elements:
        lines.append("## Parts of the service")
        lines.append("| part | delivery |")
        lines.append("|---|---|")
        lines.extend(f"| {_md(e.name)} | `{e.outcome}` |" for e in decision.elements)
        lines.append("")
    if decision.needed_facts:
        lines.append("## Questions to answer next")
        lines.extend(f"1. {_md(q.question)} (`{q.fact}`)" for q in decision.questions)
        lines.append("")
    if top is not None and top.rule is not None:
        not_applied = [r for r in top.rule.walk() if r.status in ("does_not_apply", "unknown")]
        if not_applied:
            lines.append("## Exceptions that did not apply")
            for r in not_applied:
                why = ""
                if r.condition is not None:
                    if r.status == "unknown":
                        why = f": not known whether {_md(r.condition.text)}"
                    elif r.condition.failed:
                        why = f": {_md('; '.join(r.condition.failed))} is not so"
                lines.append(f"- `{r.label}` ({r.location}){why}")
            lines.append("")
    facts = next((e for e in decision.trace if isinstance(e, t.FactsGiven)), None)
    if facts is not None:
        lines.append("## Facts used")
        lines.append("| fact | value |")
        lines.append("|---|---|")
        lines.extend(f"| `{r.name}` | {_md(r.shown)} |" for r in facts.given)
        lines.append("")
    info = decision.policy
    lines.append(f"*{_md(info.name)}, version {_md(info.version)}, `{info.digest}`, as at {decision.as_of}.*")
    return "\n".join(lines) + "\n"
