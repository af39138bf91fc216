"""Renderers: one decision (and its trace) as text for officers, JSON, or Markdown.

Renderers only read the ``Decision`` and its trace events; they never evaluate.
Output is deterministic: the same decision always renders to the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from policy_rules.engine import trace as t
from policy_rules.engine.decision import Decision
from policy_rules.safety.escape import BIDI_CONTROLS, for_html, for_markdown, for_markdown_code, for_terminal
from policy_rules.values.types import format_value

STATUS_WORDS = {
    "decided": "DECIDES",
    "applies": "applies",
    "overridden": "overridden",
    "does_not_apply": "does not apply",
    "unknown": "not known yet",
}


# --- JSON ------------------------------------------------------------------------------

# Characters that JSON may carry raw but a terminal or an editor acts on: C1 controls
# (U+009B starts a control sequence on some terminals), line separators and bidi controls.
_JSON_HIDDEN = re.compile("[\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")


def to_json(decisions: Sequence[Decision], *, single: bool) -> str:
    """One object for a single service, an array in input order for several.

    ``json`` already writes the C0 controls (ESC among them) as ``\\u001b``;
    the other characters that act on a terminal are written as escapes too,
    which leaves the data the same for any program that reads it.
    """
    data: Any = decisions[0].to_dict() if single and len(decisions) == 1 else [d.to_dict() for d in decisions]
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _JSON_HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# --- text: the summary ------------------------------------------------------------------

# Every piece of text below that came from a rule file or a facts file goes through
# ``for_terminal`` (``_t``), so it cannot move the cursor, clear the screen or reorder a line.
_t = for_terminal


def _decided_by(decision: Decision) -> str:
    if not decision.decided_by:
        return ""
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.rule is not None:
            for rule in event.rule.walk():
                if rule.label == decision.decided_by:
                    return f" (rule {_t(rule.label)}, {_t(rule.location)})"
    return f" (rule {_t(decision.decided_by)})"


OUTCOME_COLOURS = {"undetermined": "33"}


def paint(text: str, code: str, color: bool) -> str:
    """ANSI colour for terminals; plain text otherwise."""
    return f"\033[{code}m{text}\033[0m" if color else text


def summary_text(decision: Decision, *, color: bool = False) -> str:
    """A few lines per service: outcome, priority, reasons, elements, what is needed."""
    outcome = paint(_t(decision.outcome), OUTCOME_COLOURS.get(decision.outcome, "1;32"), color)
    lines = [f"Service: {paint(_t(decision.service or '(unnamed)'), '1', color)}", f"  Outcome: {outcome}{_decided_by(decision)}{_settled_text(decision)}"]
    if decision.priority is not None:
        lines.append(f"  Priority: {_t(decision.priority)}")
    if decision.reasons:
        lines.append(f"  Reasons: {', '.join(_t(r) for r in decision.reasons)}")
    if decision.elements:
        lines.append("  Elements:")
        lines.extend(f"    {_t(e.name)}: {_t(e.outcome)}" for e in decision.elements)
    if decision.results:
        lines.append("  Results:")
        lines.extend(f"    {_t(name)}: {_t(shown)}" for name, _value, shown in decision.results)
        if decision.results_needed:
            lines.append(f"    (the results also need: {', '.join(_t(f) for f in decision.results_needed)})")
    if decision.needed_facts:
        lines.append("  Needed facts:")
        lines.extend(f"    {_t(q.fact)}: {_t(q.question)}" for q in decision.questions)
        if not decision.needed_facts_exact:
            lines.append("    (the search for needed facts stopped at its limit: this list may be longer than needed)")
    info = decision.policy
    lines.append(f"  Policy: {_t(info.name)}, version {_t(info.version)}, {_t(info.digest[:19])}, as at {_t(decision.as_of)}")
    return "\n".join(lines)


def _outcome_decision(decision: Decision) -> str | None:
    """The name of the decision whose value is the outcome: the first decision made for the service with that value."""
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.item is None and event.value == decision.outcome and event.decided_by is None:
            return event.decision
    return None


def _settled_text(decision: Decision) -> str:
    settling = _settling_rules(decision)
    if not settling:
        return ""
    return f" (settled whatever the missing facts are: each possible value leads to a rule that gives it: {', '.join(_t(r.label) for r in settling)})"


# --- text: the whole explanation ----------------------------------------------------------


def _reads(reads: Sequence[t.Read]) -> str:
    return ", ".join(f"{_t(r.name)} = {_t(r.shown)}" for r in reads)


def _cites(citations: Sequence[t.Citation]) -> str:
    """The citations as written in the rule files (not yet made safe for any medium)."""
    return "; ".join(str(c) for c in citations)


def _condition_lines(condition: t.Condition | None, indent: str) -> list[str]:
    if condition is None:
        return []
    value = {"true": "yes", "false": "no", "unknown": "not known"}.get(condition.value, condition.value)
    lines = [f"{indent}when {_t(condition.text)}: {_t(value)}"]
    if condition.reads:
        lines.append(f"{indent}  read: {_reads(condition.reads)}")
    if condition.failed and condition.value == "false":
        lines.append(f"{indent}  why not: {'; '.join(_t(p) for p in condition.failed)} is not so")
    if condition.unknown and condition.value == "unknown":
        lines.append(f"{indent}  not known: {'; '.join(_t(p) for p in condition.unknown)}")
    return lines


def _rule_lines(rule: t.RuleConsidered, depth: int, decider: str | None) -> list[str]:
    if rule.table is not None:
        return _table_lines(rule, depth, decider)
    return _one_rule_lines(rule, depth, decider, f"{rule.kind} rule", rule.exceptions)


def _one_rule_lines(rule: t.RuleConsidered, depth: int, decider: str | None, what: str, exceptions: Sequence[t.RuleConsidered]) -> list[str]:
    indent = "  " * depth
    status = STATUS_WORDS.get(rule.status, rule.status)
    if rule.status == "overridden" and decider:
        status = f"overridden; {decider} decides"
    verb = "gives" if rule.status in ("decided", "applies") else "would give"
    lines = [f"{indent}- [{_t(status)}] {what} {_t(rule.label)} {verb} {_t(rule.conclusion)}   ({_t(rule.location)})"]
    if rule.because:
        lines.append(f"{indent}    because {_t(rule.because)}")
    if rule.citations:
        lines.append(f"{indent}    cites {_t(_cites(rule.citations))}")
    lines.extend(_condition_lines(rule.condition, indent + "    "))
    for exception in exceptions:
        lines.extend(_rule_lines(exception, depth + 1, decider))
    return lines


def _table_lines(top: t.RuleConsidered, depth: int, decider: str | None) -> list[str]:
    """A first-of table as one list, its rows in the order they are tried, then `otherwise`.

    The trace holds a table as the chain of exceptions it means (each row an
    exception to the row below it); shown as that chain, the first row would
    sit deepest. Rules outside the table that are exceptions to a row stay
    nested under that row.
    """
    chain = [top]
    while True:
        inner = [e for e in chain[-1].exceptions if e.table == top.table]
        if not inner:
            break
        chain.append(inner[0])
    rows = list(reversed(chain))
    lines = [f"{'  ' * depth}- table {_t(top.table or '')}, first that applies:"]
    for number, row in enumerate(rows, start=1):
        others = [e for e in row.exceptions if e.table != top.table]
        what = "otherwise" if row.kind == "default" else f"row {number}"
        lines.extend(_one_rule_lines(row, depth + 1, decider, what, others))
    return lines


def explain_text(decision: Decision, *, color: bool = False) -> str:
    """The whole trace, indented, in plain words, with the citations."""
    out = [summary_text(decision, color=color), ""]
    for event in decision.trace:
        if isinstance(event, t.FactsGiven):
            out.append(f"Facts given (as at {_t(event.as_of)}):")
            out.extend(f"  {_t(r.name)} = {_t(r.shown)}" for r in event.given)
            if event.missing:
                out.append(f"Facts not given (unknown): {', '.join(_t(m) for m in event.missing)}")
            out.append("")
            out.append("Values worked out:")
        elif isinstance(event, t.ValueWorkedOut):
            out.append(f"  {_t(event.name)} = {_t(event.shown)}   ({_t(event.location)})")
            if event.because:
                out.append(f"      because {_t(event.because)}")
            if event.citations:
                out.append(f"      cites {_t(_cites(event.citations))}")
            out.append(f"      from {_t(event.condition.text)}")
            if event.condition.reads:
                out.append(f"      read: {_reads(event.condition.reads)}")
            if event.calculation:
                out.append(f"      calculation: {_t(event.calculation)}")
        elif isinstance(event, t.DecisionMade):
            who = f" for {_t(event.item)}" if event.item else ""
            by = f", decided by rule {_t(event.decided_by)}" if event.decided_by else ""
            if not event.item and event.decision == _outcome_decision(decision) and _settling_rules(decision):
                by = _settled_text(decision).replace(" (", ", ", 1).rstrip(")")
            out.append("")
            out.append(f"Decision {_t(event.decision)}{who}: {_t(event.value)}{by}")
            if event.calculation:
                out.append(f"  calculation: {_t(event.calculation)}")
            if event.rule is not None:
                out.extend(_rule_lines(event.rule, 1, event.decided_by))
        elif isinstance(event, t.NeededFacts):
            out.append("")
            out.append("Not settled yet. Answer these to decide:")
            out.extend(f"  {_t(fact)}: {_t(q)}" for fact, q in zip(event.facts, event.questions, strict=True))
    return "\n".join(out).rstrip() + "\n"


# --- Markdown ----------------------------------------------------------------------------

# Text from the rule files and the facts: ``_md`` for running text, ``_code`` inside a code span.
_md = for_markdown
_code = for_markdown_code


def markdown_report(decision: Decision) -> str:
    """A decision report for a cabinet paper or a case file; every name and text from the files is escaped."""
    name = decision.service or "(unnamed service)"
    lines = [f"# Decision: {_md(name)}", ""]
    sentence = f"**Outcome: `{_code(decision.outcome)}`**"
    if decision.priority is not None:
        sentence += f"; priority in the programme: **`{_code(decision.priority)}`**"
    lines.append(sentence + ".")
    lines.append("")
    deciding = _deciding_rule(decision)
    settling = _settling_rules(decision)
    if settling:
        rules = ", ".join(f"`{_code(r.label)}` ({_md(r.location)})" for r in settling)
        lines.append(f"Settled whatever the missing facts are: each possible value leads to a rule that gives this outcome: {rules}.")
        lines.append("")
    if deciding is not None:
        lines.append(f"Decided by rule `{_code(deciding.label)}` ({_md(deciding.location)}).")
        lines.append("")
        if deciding.because:
            lines.append(f"Because {_md(deciding.because)}.")
        if deciding.citations:
            lines.append(f"Policy: {_md(_cites(deciding.citations))}.")
        lines.append("")
    if decision.reasons:
        lines.append("## Reasons to prioritise")
        lines.extend(f"- `{_code(r)}`" for r in decision.reasons)
        lines.append("")
    if decision.results:
        lines.append("## Results")
        lines.append("| result | value |")
        lines.append("|---|---|")
        lines.extend(f"| `{_code(name)}` | {_md(shown)} |" for name, _value, shown in decision.results)
        lines.append("")
        if decision.results_needed:
            lines.append("The results also need: " + ", ".join(f"`{_code(f)}`" for f in decision.results_needed) + ".")
            lines.append("")
        calculations = _calculations(decision)
        if calculations:
            lines.append("How they were worked out:")
            lines.append("")
            lines.extend(f"- `{_code(c)}`" for c in calculations)
            lines.append("")
    if decision.elements:
        lines.append("## Parts of the service")
        lines.append("| part | delivery |")
        lines.append("|---|---|")
        lines.extend(f"| {_md(e.name)} | `{_code(e.outcome)}` |" for e in decision.elements)
        lines.append("")
    if decision.needed_facts:
        lines.append("## Questions to answer next")
        lines.extend(f"1. {_md(q.question)} (`{_code(q.fact)}`)" for q in decision.questions)
        lines.append("")
    not_applied = _not_applied(decision)
    if not_applied:
        lines.append("## Exceptions that did not apply")
        lines.extend(f"- `{_code(label)}` ({_md(location)}){_why(how, parts, lambda p: f'`{_code(p)}`')}" for label, location, how, parts in not_applied)
        lines.append("")
    facts = next((e for e in decision.trace if isinstance(e, t.FactsGiven)), None)
    if facts is not None:
        lines.append("## Facts used")
        lines.append("| fact | value |")
        lines.append("|---|---|")
        lines.extend(f"| `{_code(r.name)}` | {_md(r.shown)} |" for r in facts.given)
        lines.append("")
    info = decision.policy
    lines.append(f"*{_md(info.name)}, version {_md(info.version)}, `{_code(info.digest)}`, as at {_md(decision.as_of)}.*")
    return "\n".join(lines) + "\n"


# --- HTML: one decision --------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
    "code{background:#f3f3f3;padding:0 .2rem}.stamp{color:#555;font-size:.9rem}"
)


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{for_html(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def html_report(decision: Decision) -> str:
    """The Markdown report's content as a self-contained HTML page; every name and text from the files is escaped."""
    e = for_html
    name = decision.service or "(unnamed service)"
    body = [f"<h1>Decision: {e(name)}</h1>"]
    sentence = f"<strong>Outcome: <code>{e(decision.outcome)}</code></strong>"
    if decision.priority is not None:
        sentence += f"; priority in the programme: <strong><code>{e(decision.priority)}</code></strong>"
    body.append(f"<p>{sentence}.</p>")
    deciding = _deciding_rule(decision)
    if deciding is not None:
        body.append(f"<p>Decided by rule <code>{e(deciding.label)}</code> ({e(deciding.location)}).</p>")
        if deciding.because:
            body.append(f"<p>Because {e(deciding.because)}.</p>")
        if deciding.citations:
            body.append(f"<p>Policy: {e(_cites(deciding.citations))}.</p>")
    if decision.reasons:
        body.append("<h2>Reasons to prioritise</h2><ul>" + "".join(f"<li><code>{e(r)}</code></li>" for r in decision.reasons) + "</ul>")
    if decision.results:
        rows = "".join(f"<tr><td><code>{e(name)}</code></td><td>{e(shown)}</td></tr>" for name, _value, shown in decision.results)
        body.append(f"<h2>Results</h2><table><tr><th>result</th><th>value</th></tr>{rows}</table>")
        if decision.results_needed:
            body.append("<p>The results also need: " + ", ".join(f"<code>{e(f)}</code>" for f in decision.results_needed) + ".</p>")
        calculations = _calculations(decision)
        if calculations:
            body.append("<p>How they were worked out:</p><ul>" + "".join(f"<li><code>{e(c)}</code></li>" for c in calculations) + "</ul>")
    if decision.elements:
        rows = "".join(f"<tr><td>{e(x.name)}</td><td><code>{e(x.outcome)}</code></td></tr>" for x in decision.elements)
        body.append(f"<h2>Parts of the service</h2><table><tr><th>part</th><th>delivery</th></tr>{rows}</table>")
    if decision.needed_facts:
        body.append(
            "<h2>Questions to answer next</h2><ol>" + "".join(f"<li>{e(q.question)} (<code>{e(q.fact)}</code>)</li>" for q in decision.questions) + "</ol>"
        )
    not_applied = _not_applied(decision)
    if not_applied:
        body.append(
            "<h2>Exceptions that did not apply</h2><ul>"
            + "".join(f"<li><code>{e(label)}</code> ({e(loc)}){_why(how, parts, e)}</li>" for label, loc, how, parts in not_applied)
            + "</ul>"
        )
    facts = next((x for x in decision.trace if isinstance(x, t.FactsGiven)), None)
    if facts is not None:
        rows = "".join(f"<tr><td><code>{e(r.name)}</code></td><td>{e(r.shown)}</td></tr>" for r in facts.given)
        body.append(f"<h2>Facts used</h2><table><tr><th>fact</th><th>value</th></tr>{rows}</table>")
    info = decision.policy
    body.append(f'<p class="stamp">{e(info.name)}, version {e(info.version)}, <code>{e(info.digest)}</code>, as at {e(decision.as_of)}.</p>')
    return _page(f"Decision: {name}", body)


def _calculations(decision: Decision) -> list[str]:
    """The calculation of each value worked out for the service, in the order the trace made them."""
    return [e.calculation for e in decision.trace if isinstance(e, t.ValueWorkedOut | t.DecisionMade) and e.calculation]


def _deciding_rule(decision: Decision) -> t.RuleConsidered | None:
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.item is None and event.rule is not None and event.decided_by == decision.decided_by:
            for rule in event.rule.walk():
                if rule.label == decision.decided_by:
                    return rule
    return None


def _settling_rules(decision: Decision) -> list[t.RuleConsidered]:
    """When no rule decided alone but every completion of the missing facts gives the outcome: the rules that may give it.

    Such a decision has no ``decided_by``: which rule decides depends on a
    fact not given, and each possible value leads to a rule with the same
    outcome. Those rules are the ones whose condition is unknown (or that
    apply) and whose conclusion is the outcome as written.
    """
    if decision.decided_by or decision.outcome == "undetermined":
        return []
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.item is None and event.rule is not None and event.value == decision.outcome:
            return [r for r in event.rule.walk() if r.status in ("unknown", "applies", "overridden") and r.conclusion == decision.outcome]
    return []


def _not_applied(decision: Decision) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The outcome decision's rules that did not apply or are not known.

    Each as its label, location, why (``unknown``, ``failed`` or nothing) and
    the parts of its condition concerned, as written: each medium escapes them.
    """
    found = []
    settling = {r.label for r in _settling_rules(decision)}
    for event in decision.trace:
        if isinstance(event, t.DecisionMade) and event.item is None and event.rule is not None and event.decided_by == decision.decided_by:
            for r in event.rule.walk():
                if r.status not in ("does_not_apply", "unknown") or r.condition is None or r.label in settling:
                    continue
                if r.status == "unknown":
                    found.append((r.label, r.location, "unknown", (r.condition.text,)))
                else:
                    found.append((r.label, r.location, "failed" if r.condition.failed else "", r.condition.failed))
            break
    return found


def _why(how: str, parts: Sequence[str], quote: Callable[[str], str]) -> str:
    """Why an exception did not apply, each part of its condition shown with ``quote`` (which escapes it for the medium)."""
    if how == "unknown":
        return f": not known whether {quote(parts[0])}"
    if how == "failed":
        return ": " + "; ".join(quote(part) for part in parts) + " is not so"
    return ""


# --- register summaries ------------------------------------------------------------------------


def money(value: Any) -> str:
    """£ with thousands separators; whole pounds; a negative amount as -£5, as a decision shows it."""
    pounds = round(value)
    return f"-£{-pounds:,}" if pounds < 0 else f"£{pounds:,}"


def _undecided(summary: Any) -> str:
    """How many services could not be decided, and why, counted by kind: facts, rule conflicts, calculations."""
    kinds = [
        (summary.facts_errors, "with wrong facts"),
        (summary.rule_conflicts, "with a rule conflict"),
        (summary.evaluation_errors, "with a calculation the rules cannot make"),
    ]
    parts = ", ".join(f"{n:,} {why}" for n, why in kinds if n)
    count = summary.error_count
    return f"{count:,} service{'s' * (count != 1)} could not be decided: {parts}"


def summary_lines(summary: Any, *, color: bool = False, limit: int = 20) -> str:
    """The register summary for the terminal (plain when piped); names from the register cannot send control sequences."""

    def bold(text: str) -> str:
        return f"\033[1m{text}\033[0m" if color else text

    term = for_terminal

    total_spend = summary.total_spend
    policy = f"{term(summary.policy)} {term(summary.version)}"
    lines = [bold(f"{summary.decided:,} of {summary.services:,} services decided") + f" with {policy} as at {summary.as_of}"]
    if summary.error_count:
        lines.append(f"{_undecided(summary)} (see the messages above; each has a row with status `error` in the decisions file)")
    lines.append("")
    spend_head = f"  {'annual spend':>16}  {'share':>6}" if summary.spend_fact else ""
    lines.append(bold(f"{'outcome':<20}{'services':>10}{spend_head}"))
    for outcome, tot in sorted(summary.by_outcome.items(), key=lambda kv: (-kv[1].spend, -kv[1].services, kv[0])):
        spend = f"  {money(tot.spend):>16}  {_share(tot.spend, total_spend):>6}" if summary.spend_fact else ""
        lines.append(f"{term(outcome):<20}{tot.services:>10,}{spend}")
    if summary.spend_fact:
        lines.append(f"{'total':<20}{summary.decided:>10,}  {money(total_spend):>16}")
    totals = sorted({name for tot in summary.by_outcome.values() for name in tot.results})
    if totals:
        lines.append("")
        lines.append(bold("money results by outcome:"))
        for outcome, tot in sorted(summary.by_outcome.items()):
            if tot.results:
                lines.append(f"  {term(outcome)}: " + ", ".join(f"{term(n)} {format_value(tot.results[n], 'money')}" for n in totals if n in tot.results))
        lines.append(
            "  all: "
            + ", ".join(f"{term(n)} {format_value(sum((t.results.get(n, 0) for t in summary.by_outcome.values()), Decimal(0)), 'money')}" for n in totals)
        )
    if summary.by_priority:
        lines.append("")
        lines.append(bold("priority: ") + ", ".join(f"{term(k)} {v:,}" for k, v in sorted(summary.by_priority.items())))
    if summary.high_priority:
        lines.append("")
        lines.append(bold(f"High-priority services ({summary.high_priority_count:,}):"))
        shown = sorted(summary.high_priority, key=_by_spend)[:limit]
        for name, outcome, spend, reasons in shown:
            lines.append(
                f"  {term(name)}: {term(outcome)}" + (f", {money(spend)}" if spend is not None else "") + (f" ({term(', '.join(reasons))})" if reasons else "")
            )
        if summary.high_priority_count > len(shown):
            lines.append(f"  ... and {summary.high_priority_count - len(shown):,} more{_cut(summary, len(shown), limit)}")
    if summary.undetermined:
        lines.append("")
        lines.append(bold(f"Services not yet settled ({summary.undetermined_count:,}); facts needed, most common first:"))
        for fact, count in summary.most_needed()[:limit]:
            lines.append(f"  {term(fact)}: {count:,} service{'s' * (count != 1)}")
        lines.append("")
        shown = summary.undetermined[:limit]
        for name, needed in shown:
            lines.append(f"  {term(name)}: needs {term(', '.join(needed))}")
        if summary.undetermined_count > len(shown):
            lines.append(f"  ... and {summary.undetermined_count - len(shown):,} more{_cut(summary, len(shown), limit)}")
    return "\n".join(lines) + "\n"


def _by_spend(item: tuple[Any, ...]) -> tuple[Any, str]:
    """High-priority services are listed by spend, highest first, then by name."""
    return -(item[2] or 0), item[0]


def _cut(summary: Any, shown: int, limit: int) -> str:
    """Said when a summary's bounded list, not the report's own limit, stopped the listing."""
    return f" (a summary keeps the first {summary.listed:,}; the decisions file has every service)" if shown < limit else ""


def _share(part: Any, whole: Any) -> str:
    return f"{(100 * part / whole):.1f}%" if whole else "-"


def summary_markdown(summary: Any, limit: int = 50) -> str:
    """A register summary report in Markdown, with a chart of spend by outcome; every name from the register or rules is escaped."""
    md, code = for_markdown, for_markdown_code
    total = summary.total_spend
    rows = sorted(summary.by_outcome.items(), key=lambda kv: (-kv[1].spend, -kv[1].services, kv[0]))
    lines = [f"# Register decisions: {md(summary.policy)}", ""]
    lines.append(f"{summary.decided:,} of {summary.services:,} services decided, as at {summary.as_of}.")
    if summary.error_count:
        lines.append(f"{_undecided(summary)}; each has a row with status `error` in the decisions file.")
    lines.append("")
    lines.append("## Services and spend by outcome")
    lines.append("")
    if summary.spend_fact:
        lines.append("| outcome | services | annual spend | share | |")
        lines.append("|---|---:|---:|---:|---|")
        peak = max((tot.spend for _, tot in rows), default=0) or 1
        for outcome, tot in rows:
            bar = "█" * max(round(24 * tot.spend / peak), 1 if tot.spend else 0)
            lines.append(f"| `{code(outcome)}` | {tot.services:,} | {money(tot.spend)} | {_share(tot.spend, total)} | {bar} |")
        lines.append(f"| **total** | **{summary.decided:,}** | **{money(total)}** | | |")
        lines.append("")
        lines.append("```mermaid")
        lines.append("pie title Annual spend by outcome")
        lines.extend(f'    "{code(outcome).replace(chr(34), chr(39))}" : {int(tot.spend)}' for outcome, tot in rows if tot.spend)
        lines.append("```")
    else:
        lines.append("| outcome | services |")
        lines.append("|---|---:|")
        lines.extend(f"| `{code(outcome)}` | {tot.services:,} |" for outcome, tot in rows)
    lines.append("")
    totals = sorted({name for tot in summary.by_outcome.values() for name in tot.results})
    if totals:
        lines.append("## Money results by outcome")
        lines.append("")
        lines.append("Each result totalled over the services of each outcome it is known for.")
        lines.append("")
        lines.append("| outcome | " + " | ".join(f"`{code(n)}`" for n in totals) + " |")
        lines.append("|---|" + "---:|" * len(totals))
        for outcome, tot in sorted(summary.by_outcome.items()):
            lines.append(f"| `{code(outcome)}` | " + " | ".join(md(format_value(tot.results[n], "money")) if n in tot.results else "" for n in totals) + " |")
        every = [format_value(sum((t.results.get(n, 0) for t in summary.by_outcome.values()), Decimal(0)), "money") for n in totals]
        lines.append("| **all** | " + " | ".join(f"**{md(x)}**" for x in every) + " |")
        lines.append("")
    if summary.by_priority:
        lines.append("## Priority")
        lines.append("")
        lines.append("| priority | services |")
        lines.append("|---|---:|")
        lines.extend(f"| `{code(k)}` | {v:,} |" for k, v in sorted(summary.by_priority.items()))
        lines.append("")
    if summary.high_priority:
        lines.append(f"## High-priority services ({summary.high_priority_count:,})")
        lines.append("")
        lines.append("| service | outcome | annual spend | reasons |")
        lines.append("|---|---|---:|---|")
        listed = sorted(summary.high_priority, key=_by_spend)[:limit]
        for name, outcome, spend, reasons in listed:
            shown = ", ".join(f"`{code(r)}`" for r in reasons)
            lines.append(f"| {md(name)} | `{code(outcome)}` | {money(spend) if spend is not None else ''} | {shown} |")
        if summary.high_priority_count > len(listed):
            lines.append(f"| ... and {summary.high_priority_count - len(listed):,} more{_cut(summary, len(listed), limit)} | | | |")
        lines.append("")
    if summary.undetermined:
        lines.append(f"## Services not yet settled ({summary.undetermined_count:,})")
        lines.append("")
        lines.append("Facts needed, most common first:")
        lines.append("")
        lines.append("| fact | services needing it |")
        lines.append("|---|---:|")
        lines.extend(f"| `{code(fact)}` | {count:,} |" for fact, count in summary.most_needed())
        lines.append("")
        lines.append("| service | facts needed |")
        lines.append("|---|---|")
        listed = summary.undetermined[:limit]
        lines.extend(f"| {md(name)} | {', '.join(f'`{code(f)}`' for f in needed)} |" for name, needed in listed)
        if summary.undetermined_count > len(listed):
            lines.append(f"| ... and {summary.undetermined_count - len(listed):,} more{_cut(summary, len(listed), limit)} | |")
        lines.append("")
    lines.append(f"*{md(summary.policy)}, version {md(summary.version)}, `{code(summary.digest)}`.*")
    return "\n".join(lines) + "\n"


def summary_html(summary: Any, limit: int = 50) -> str:
    """The register summary as a self-contained HTML page with an SVG bar chart of spend; all outside text escaped."""
    e = for_html
    total = summary.total_spend
    rows = sorted(summary.by_outcome.items(), key=lambda kv: (-kv[1].spend, -kv[1].services, kv[0]))
    body = [
        f"<h1>Register decisions: {e(summary.policy)}</h1>",
        f"<p>{summary.decided:,} of {summary.services:,} services decided, as at {e(summary.as_of)}.</p>",
    ]
    if summary.error_count:
        body.append(f"<p>{e(_undecided(summary))}; each has a row with status <code>error</code> in the decisions file.</p>")
    body.append("<h2>Services and spend by outcome</h2>")
    if summary.spend_fact and rows:
        body.append(_svg_bars([(o, float(tot.spend)) for o, tot in rows]))
    head = "<tr><th>outcome</th><th>services</th>" + ("<th>annual spend</th><th>share</th>" if summary.spend_fact else "") + "</tr>"
    cells = "".join(
        f"<tr><td><code>{e(o)}</code></td><td>{tot.services:,}</td>"
        + (f"<td>{money(tot.spend)}</td><td>{_share(tot.spend, total)}</td>" if summary.spend_fact else "")
        + "</tr>"
        for o, tot in rows
    )
    body.append(f"<table>{head}{cells}</table>")
    if summary.high_priority:
        items = "".join(
            f"<tr><td>{e(n)}</td><td><code>{e(o)}</code></td><td>{money(s) if s is not None else ''}</td><td>{e(', '.join(r))}</td></tr>"
            for n, o, s, r in sorted(summary.high_priority, key=_by_spend)[:limit]
        )
        body.append(
            f"<h2>High-priority services ({summary.high_priority_count:,})</h2>"
            f"<table><tr><th>service</th><th>outcome</th><th>annual spend</th><th>reasons</th></tr>{items}</table>"
        )
        body.append(_more_html(summary.high_priority_count, min(len(summary.high_priority), limit), summary, limit))
    if summary.undetermined:
        facts = "".join(f"<tr><td><code>{e(f)}</code></td><td>{c:,}</td></tr>" for f, c in summary.most_needed())
        listed = summary.undetermined[:limit]
        services = "".join(f"<tr><td>{e(n)}</td><td>{e(', '.join(needed))}</td></tr>" for n, needed in listed)
        body.append(f"<h2>Services not yet settled ({summary.undetermined_count:,})</h2><table><tr><th>fact needed</th><th>services</th></tr>{facts}</table>")
        body.append(f"<table><tr><th>service</th><th>facts needed</th></tr>{services}</table>")
        body.append(_more_html(summary.undetermined_count, len(listed), summary, limit))
    body.append(f'<p class="stamp">{e(summary.policy)}, version {e(summary.version)}, <code>{e(summary.digest)}</code>.</p>')
    return _page(f"Register decisions: {summary.policy}", body)


def _more_html(count: int, shown: int, summary: Any, limit: int) -> str:
    if count <= shown:
        return ""
    return f"<p>... and {count - shown:,} more{_cut(summary, shown, limit)}</p>"


def _svg_bars(values: list[tuple[str, float]]) -> str:
    width, bar_h, label_w = 640, 22, 170
    peak = max(v for _, v in values) or 1.0
    height = bar_h * len(values) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="Annual spend by outcome">']
    for i, (label, value) in enumerate(values):
        y = 5 + i * bar_h
        w = (width - label_w - 110) * value / peak
        parts.append(f'<text x="0" y="{y + 15}" font-size="13">{for_html(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="#3a6ea5"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{money(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
