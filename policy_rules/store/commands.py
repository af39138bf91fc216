"""The ``policy-rules register`` commands (list, show, replay, export, saves) and what ``evaluate --record`` adds.

Each reads the register named by ``--db`` (default ``./policy-rules.db``)
and never writes to it, except ``evaluate --record``, which only appends. A
register that does not exist is an error here, not a new empty database.
"""

from __future__ import annotations

import csv
import getpass
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_rules.errors import UsageError
from policy_rules.safety.escape import for_csv_cell, for_terminal
from policy_rules.store.register import DEFAULT_DB, DecisionRegister, RecordedDecision, RuleSave, dumps

if TYPE_CHECKING:
    from policy_rules.api import Policy
    from policy_rules.engine.decision import Decision

EXPORT_COLUMNS = (
    "id",
    "recorded_at",
    "recorded_by",
    "service",
    "outcome",
    "priority",
    "as_of",
    "policy_name",
    "policy_version",
    "policy_digest",
    "overridden_to",
    "override_reason",
    "overridden_by",
    "facts",
)


def existing(where: str | None) -> DecisionRegister:
    """The register at ``--db``; a SQLite file that is not there is an error, not a new register."""
    place = where or DEFAULT_DB
    if "://" not in place and not Path(place).is_file():
        raise UsageError(f"there is no decision register here; record decisions with `policy-rules serve` or `evaluate --record {place}` first", place)
    return DecisionRegister(place)


def list_command(args: Any) -> int:
    with existing(args.db) as register:
        found = register.list(service=args.service, outcome=args.outcome, since=args.since, limit=args.limit)
    if args.format == "json":
        sys.stdout.write(json.dumps([d.summary() for d in found], ensure_ascii=False, indent=2) + "\n")
        return 0
    for d in found:
        s = d.summary()
        also = f"  overridden to {s['overridden_to']}" if s["overridden_to"] else ""
        print(for_terminal(f"{s['id']:>6}  {s['recorded_at']}  {s['recorded_by']}  {s['service']}: {s['outcome']} (as of {s['as_of']}){also}"))
    print(f"{len(found)} decision{'s' * (len(found) != 1)}, newest first", file=sys.stderr)
    return 0


def _one(register: DecisionRegister, decision_id: int) -> RecordedDecision:
    found = register.get(decision_id)
    if found is None:
        raise UsageError(f"the register has no decision {decision_id}", register.shown)
    return found


def show_command(args: Any) -> int:
    with existing(args.db) as register:
        found = _one(register, args.id)
        if args.format == "json":  # the whole explanation, derived again from a compact record's facts and rules
            found = register.explained(found)
    if args.format == "json":
        sys.stdout.write(json.dumps(found.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return 0
    d = found.decision
    policy = d.get("policy", {})
    lines = [
        f"Decision {found.id}, recorded {found.recorded_at} by {found.recorded_by}",
        f"  Service: {d.get('service')}",
        f"  Outcome: {d.get('outcome')}" + (f" (rule {d['decided_by']})" if d.get("decided_by") else ""),
    ]
    if d.get("priority") is not None:
        lines.append(f"  Priority: {d['priority']}")
    if d.get("needed_facts"):
        lines.append(f"  Needed facts: {', '.join(d['needed_facts'])}")
    lines.append(f"  Policy: {policy.get('name')}, version {policy.get('version')}, {policy.get('digest')}, as at {d.get('as_of')}")
    lines.append("  Facts:")
    lines.extend(f"    {name}: {json.dumps(value, ensure_ascii=False)}" for name, value in found.facts.items())
    for o in found.overrides:
        lines.append(f"  Overridden to {o.outcome} by {o.decided_by} (recorded {o.recorded_at} by {o.recorded_by}): {o.reason}")
    print("\n".join(for_terminal(line) for line in lines))
    return 0


def saves_command(args: Any) -> int:
    """The rule saves made from the workbench, newest first; with an id, that save and what it changed, as a unified diff."""
    with existing(args.db) as register:
        if args.id is None:
            found = register.saves(args.limit)
            if args.format == "json":
                sys.stdout.write(json.dumps([s.to_dict() for s in found], ensure_ascii=False, indent=2) + "\n")
                return 0
            for s in found:
                print(for_terminal(f"{s.id:>6}  {s.saved_at}  {s.saved_by} (token {s.recorded_by})  {', '.join(s.files)}: {s.reason}"))
            print(f"{len(found)} save{'s' * (len(found) != 1)}, newest first", file=sys.stderr)
            return 0
        one = register.get_save(args.id)
        if one is None:
            raise UsageError(f"the register has no rule save {args.id}", register.shown)
        before, after = register.rule_files(one.previous_rule_set), register.rule_files(one.rule_set)
    if args.format == "json":
        body = {**one.to_dict(), "changes": {name: {"before": before.get(name), "after": after.get(name)} for name in one.files}}
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return 0
    lines = [f"Rule save {one.id}, {one.saved_at}, by {one.saved_by} (token {one.recorded_by})", f"  Why: {one.reason}", f"  Files: {', '.join(one.files)}"]
    lines.extend(changes_of(one, before, after))
    print("\n".join(for_terminal(line) for line in lines))
    return 0


def changes_of(one: RuleSave, before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What a save changed, as the lines of a unified diff of each file it wrote (the same for the command and the workbench)."""
    import difflib

    lines: list[str] = []
    for name in one.files:
        old, new, shown = before.get(name, ""), after.get(name, ""), name.lstrip("/")
        lines.extend(line.rstrip("\n") for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{shown}", f"b/{shown}"))
    return lines


def replay_command(args: Any) -> int:
    """Decide recorded decisions again with their own rules; exit 1 when any comes out differently."""
    differ = done = 0
    with existing(args.db) as register:
        chosen = (_one(register, i) for i in args.ids) if args.ids else register.all()
        for recorded in chosen:
            replay = register.replay(recorded)
            done += 1
            if not replay.same:
                differ += 1
                print(for_terminal(f"decision {replay.id}: DIFFERENT now in {', '.join(replay.differences)}"))
            elif args.ids:
                print(f"decision {replay.id}: same {recorded.decision.get('outcome')}, same explanation")
    print(f"{done} replayed: {done - differ} the same, {differ} different", file=sys.stderr)
    return 1 if differ else 0


def export_command(args: Any) -> int:
    """Every recorded decision, oldest first, to a CSV or JSON Lines file, written atomically."""
    from policy_rules.safety.outputs import AtomicFile, refuse_overwriting_inputs

    kind = Path(args.output).suffix.lower()
    if kind not in (".csv", ".jsonl"):
        raise UsageError(f"cannot export to a `{kind or 'file without an ending'}` file; use .csv or .jsonl", "--output")
    place = args.db or DEFAULT_DB
    if "://" not in place:
        refuse_overwriting_inputs([("--output", args.output)], [("the register", place)])
    count = 0
    with existing(args.db) as register:
        out = AtomicFile(args.output)
        try:
            writer = csv.writer(out.file) if kind == ".csv" else None
            if writer is not None:
                writer.writerow(EXPORT_COLUMNS)
            for recorded in register.all():
                count += 1
                if writer is None:
                    out.file.write(dumps(recorded.to_dict()) + "\n")
                else:
                    writer.writerow([_csv_safe(v) for v in _row(recorded)])
            out.commit()
        except BaseException:
            out.discard()
            raise
    print(for_terminal(f"{count} decision{'s' * (count != 1)} exported to {args.output}"), file=sys.stderr)
    return 0


def _row(recorded: RecordedDecision) -> list[Any]:
    d = recorded.decision
    policy = d.get("policy", {})
    last = recorded.overrides[-1] if recorded.overrides else None
    return [
        recorded.id,
        recorded.recorded_at,
        recorded.recorded_by,
        d.get("service"),
        d.get("outcome"),
        d.get("priority"),
        d.get("as_of"),
        policy.get("name"),
        policy.get("version"),
        policy.get("digest"),
        last.outcome if last else "",
        last.reason if last else "",
        last.decided_by if last else "",
        dumps(recorded.facts),
    ]


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text from facts and officers may start with anything."""
    return for_csv_cell(value) if isinstance(value, str) else ("" if value is None else value)


def record_decisions(where: str, policy: Policy, made: Sequence[tuple[Decision, Mapping[str, Any]]], by: str | None) -> str:
    """``evaluate --record``: the decisions of one run recorded together (all or none); the line to print about it."""
    who = by or f"cli:{_user()}"
    with DecisionRegister(where) as register:
        rule_set = register.keep_rules(policy)
        recorded = register.record_many(rule_set, made, who) if made else []
        shown = register.shown
    if not recorded:
        return f"no decision to record in {shown}"
    ids = f"id {recorded[0].id}" if len(recorded) == 1 else f"ids {recorded[0].id} to {recorded[-1].id}"
    return for_terminal(f"{len(recorded)} decision{'s' * (len(recorded) != 1)} recorded in {shown} ({ids}) by {who}")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


__all__ = ["changes_of", "export_command", "list_command", "record_decisions", "replay_command", "saves_command", "show_command"]
