"""Case files: the facts of a service and what the policy should decide for it, run by ``policy-rules test``.

An officer who changes a rule wants to know which of the cases the policy
was written for now come out differently, without writing Python. A case
file (YAML or JSON) holds one case, or several under ``cases:``; a
top-level ``as_of`` is the date of every case in it that gives none of its
own. Each case has a ``name``, its ``facts`` (as a facts file gives them)
and what to ``expect``: any of ``outcome``, ``priority``, ``reasons``,
``needed_facts``, ``decided_by``, ``elements`` and ``results`` (each named
result's value as rule files write it, within an optional ``tolerance``). Only the keys given are
compared, so a case says exactly what it is about.

Case files are read by the facts files' own safe reader (the same limits,
no YAML tags that build objects), and every problem in them is a
``CaseFileError`` naming the file, the case and the key, with the nearest
allowed key for a misspelt one: a misspelt ``expect`` key would otherwise
make a case that checks nothing and always passes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from policy_rules.errors import ConflictError, FactsError, PolicyError, did_you_mean
from policy_rules.registers.facts import read_as_of, read_document
from policy_rules.safety.escape import for_terminal

if TYPE_CHECKING:
    from policy_rules.api import Policy
    from policy_rules.engine.decision import Decision

CASE_FILE_SUFFIXES = (".yaml", ".yml", ".json")
CASE_KEYS = ("name", "facts", "expect", "as_of")
FILE_KEYS = ("cases", "as_of")
EXPECT_KEYS = ("outcome", "priority", "reasons", "needed_facts", "decided_by", "elements", "results", "tolerance", "results_needed")
ELEMENT_KEYS = ("name", "outcome")
#: Expected lists compared whatever their order: the order of reasons and needed facts says nothing about the decision.
UNORDERED = frozenset({"reasons", "needed_facts", "results_needed"})


class CaseFileError(PolicyError):
    """A case file that cannot be used: says the file, the case and the key."""

    def __init__(self, message: str, *, path: str, case: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.case = case
        self.key = key
        parts = [path, f"case {case!r}" if case is not None else None, f"`{key}`" if key else None]
        super().__init__(message, ": ".join(p for p in parts if p))


@attrs.frozen
class Case:
    """One case: a service's facts and what the policy should decide for it, at a date if the case or its file gives one."""

    name: str
    facts: Mapping[str, Any]
    expect: Mapping[str, Any]
    as_of: date | None
    path: str


@attrs.frozen
class Mismatch:
    """One expected key whose value the decision does not have."""

    key: str
    expected: Any
    actual: Any


@attrs.frozen
class CaseResult:
    """What running one case found: ``passed``, ``failed`` (with its mismatches) or ``error`` (the case could not be decided)."""

    case: Case
    as_of: date
    status: str
    mismatches: tuple[Mismatch, ...] = ()
    decision: Decision | None = None
    error: PolicyError | None = None

    def to_dict(self, policy: Policy) -> dict[str, Any]:
        """The JSON object of one case for ``policy-rules test --format json``."""
        d = self.decision
        return {
            "file": self.case.path,
            "name": self.case.name,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "expected": dict(self.case.expect),
            "actual": {key: actual_value(key, d) for key in self.case.expect} if d is not None else None,
            "mismatches": [{"key": m.key, "expected": m.expected, "actual": m.actual} for m in self.mismatches],
            "decided_by": d.decided_by if d is not None else None,
            "decided_by_location": rule_location(policy, d.decided_by) if d is not None else None,
            "needed_facts": list(d.needed_facts) if d is not None else None,
            "error": str(self.error.message) if self.error is not None else None,
            "error_location": self.error.location if self.error is not None else None,
        }


# --- finding and reading case files ----------------------------------------------------------


def case_files(paths: Iterable[str]) -> list[str]:
    """The case files named, and those in the folders named (read recursively, in the order of their paths).

    A linked folder is not followed and a linked file only when it stays
    inside the folder named, as rule files are found: a case file's text is
    quoted in messages, which may go to a CI log.
    """
    found: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise CaseFileError("there is no such file or folder; check the path", path=path)
        if not p.is_dir():
            found.append(path)
            continue
        root = p.resolve()
        inside: list[str] = []
        for folder, subfolders, files in os.walk(p):
            subfolders.sort()
            for name in files:
                full = Path(folder) / name
                if name.endswith(CASE_FILE_SUFFIXES) and (not full.is_symlink() or full.resolve().is_relative_to(root)):
                    inside.append(str(full))
        if not inside:
            raise CaseFileError(f"this folder holds no case files (files ending in {', '.join(CASE_FILE_SUFFIXES)})", path=path)
        found.extend(sorted(inside, key=lambda f: Path(f).parts))
    return found


def read_cases(path: str) -> tuple[Case, ...]:
    """The cases of one file, each with its date; raises ``FactsError`` for a file that cannot be read, ``CaseFileError`` for one that is not a case file."""
    loaded = read_document(path)
    if not isinstance(loaded, Mapping):
        raise CaseFileError("a case file holds one case (a mapping with name, facts and expect) or `cases:`, a list of them", path=path)
    if "cases" not in loaded:
        named = loaded.get("name") if isinstance(loaded.get("name"), str) else None
        _known_keys(loaded, (*CASE_KEYS, "cases"), path=path, case=named, prefix="")
        return (_case(loaded, None, path, "case"),)
    _known_keys(loaded, FILE_KEYS, path=path, case=None, prefix="")
    as_of = read_as_of(loaded["as_of"], path=path) if "as_of" in loaded else None
    items = loaded["cases"]
    if not isinstance(items, list) or not items:
        raise CaseFileError("`cases:` must be a list of one or more cases", path=path, key="cases")
    cases = []
    names: set[str] = set()
    for i, item in enumerate(items):
        case = _case(item, as_of, path, f"cases[{i}]")
        if case.name in names:
            raise CaseFileError("two cases in this file have this name; give each case a name of its own", path=path, case=case.name, key="name")
        names.add(case.name)
        cases.append(case)
    return tuple(cases)


def _case(item: Any, file_as_of: date | None, path: str, place: str) -> Case:
    if not isinstance(item, Mapping):
        raise CaseFileError("a case must be a mapping with name, facts and expect", path=path, key=place)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseFileError("every case needs a `name`, a text saying what it shows", path=path, key=f"{place}.name" if place != "case" else "name")
    _known_keys(item, CASE_KEYS, path=path, case=name, prefix="")
    for key in ("facts", "expect"):
        if key not in item:
            raise CaseFileError(f"the case has no `{key}`", path=path, case=name, key=key)
        if not isinstance(item[key], Mapping):
            raise CaseFileError(f"`{key}` must be a mapping", path=path, case=name, key=key)
    if not item["expect"]:
        raise CaseFileError(f"`expect` is empty; say what the decision should be: any of {', '.join(EXPECT_KEYS)}", path=path, case=name, key="expect")
    _known_keys(item["expect"], EXPECT_KEYS, path=path, case=name, prefix="expect.")
    expect = {key: _expected(key, value, path, name) for key, value in item["expect"].items()}
    as_of = read_as_of(item["as_of"], path=f"{path}: case {name!r}", where="`as_of`") if "as_of" in item else file_as_of
    return Case(name, dict(item["facts"]), expect, as_of, path)


def _known_keys(mapping: Mapping[Any, Any], allowed: Sequence[str], *, path: str, case: str | None, prefix: str) -> None:
    for key in mapping:
        if key not in allowed:
            shown = f"{prefix}{key}"
            hint = did_you_mean(str(key), allowed) or f"; the keys allowed here are {', '.join(allowed)}"
            raise CaseFileError(f"`{for_terminal(shown)}` is not a key of a case file{hint}", path=path, case=case, key=shown)


def _name(value: Any) -> str | None:
    """An outcome, rule or fact name as written; YAML reads an unquoted ``yes``/``no`` as true/false, which name the outcomes yes and no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else None


def _expected(key: str, value: Any, path: str, case: str) -> Any:
    """An expected value in the form the decision's is compared with: a name, a list of names, or a list of (name, outcome) pairs."""
    where = {"path": path, "case": case, "key": f"expect.{key}"}
    if key == "results":
        if not isinstance(value, Mapping) or not value:
            raise CaseFileError("`results` maps each result to its value, as rule files write it, such as {grant: £9,500, age: 35}", **where)
        for result, written in value.items():
            if _amount(written) is _NOT_A_VALUE:
                at = {**where, "key": f"expect.results.{result}"}
                raise CaseFileError(f"{written!r} is not a value; write it as in rule files: £9,500, 35, 25%, 2025-04-01, yes or no", **at)
        return {str(k): _shown_written(v) for k, v in value.items()}
    if key == "tolerance":
        if not isinstance(_amount(value), Decimal):
            raise CaseFileError(f"the tolerance is an amount, such as £0.01, not {value!r}", **where)
        return _shown_written(value)
    if key in ("outcome", "priority", "decided_by"):
        name = _name(value)
        if name is None:
            raise CaseFileError(f"expected a name here, such as an outcome or a rule's label, not {value!r}", **where)
        return name
    if not isinstance(value, list):
        example = "[{name: Cleaning, outcome: in_house}]" if key == "elements" else "[] or [first_name, second_name]"
        raise CaseFileError(f"`{key}` must be a list, such as {example}", **where)
    if key != "elements":
        names = [_name(v) for v in value]
        if any(n is None for n in names):
            raise CaseFileError("every item of this list must be a name", **where)
        return sorted(set(names))  # type: ignore[type-var]
    elements = []
    for i, element in enumerate(value):
        at = {**where, "key": f"expect.elements[{i}]"}
        if not isinstance(element, Mapping):
            raise CaseFileError("each element is a mapping with `name` and `outcome`", **at)
        _known_keys(element, ELEMENT_KEYS, path=path, case=case, prefix=f"expect.elements[{i}].")
        name, outcome = element.get("name"), _name(element.get("outcome"))
        if not isinstance(name, str) or outcome is None:
            raise CaseFileError("each element needs a `name` (text) and an `outcome` (a name)", **at)
        elements.append({"name": name, "outcome": outcome})
    return elements


# --- running cases ---------------------------------------------------------------------------


_NOT_A_VALUE = object()


def _shown_written(value: Any) -> Any:
    """A value of ``results`` as the case file wrote it, kept for the JSON of the run (dates and amounts as text)."""
    return value if value is None or isinstance(value, bool | str) else str(value)


def _amount(value: Any) -> Any:
    """A result's value as a case file writes it (``£9,500``, ``35``, ``25%``, ``2025-04-01``, yes/no, null), comparable with a decision's."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if not isinstance(value, str):
        return _NOT_A_VALUE
    text = value.strip().replace(",", "")
    if text.lower() in ("yes", "no"):
        return text.lower() == "yes"
    try:
        if text.endswith("%"):
            return Decimal(text[:-1]) / 100
        if text.startswith("£"):
            return Decimal(text[1:].strip())
        if text.startswith("-£"):  # a negative amount, as the engine shows one (-£100,000)
            return -Decimal(text[2:].strip())
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return _NOT_A_VALUE


def _results_mismatches(case: Case, decision: Decision) -> list[Mismatch]:
    """Each expected result that the decision does not have, within the case's tolerance for amounts."""
    found = {name: (value, shown) for name, value, shown in decision.results}
    tolerance = _amount(case.expect.get("tolerance", "0"))
    out = []
    for name, written in case.expect.get("results", {}).items():
        if name not in found:
            out.append(Mismatch(f"results.{name}", written, f"no result called {name}; the results are {', '.join(found) or 'none'}"))
            continue
        value, shown = found[name]
        expected, actual = _amount(written), _amount(value)
        if isinstance(expected, Decimal) and isinstance(actual, Decimal) and not isinstance(expected, bool):
            same = abs(expected - actual) <= tolerance
        else:
            same = expected == actual and type(expected) is type(actual)
        if not same:
            out.append(Mismatch(f"results.{name}", written, shown))
    return out


def actual_value(key: str, decision: Decision) -> Any:
    """What the decision has for one key of ``expect``, in the form expected values are read into."""
    if key == "results":
        return {name: shown for name, _value, shown in decision.results}
    if key == "tolerance":
        return None
    if key == "elements":
        return [{"name": e.name, "outcome": e.outcome} for e in decision.elements]
    if key in UNORDERED:
        return sorted(set(getattr(decision, key)))
    return getattr(decision, key)


def run_case(policy: Policy, case: Case, today: date) -> CaseResult:
    """Decide one case and compare; facts the policy cannot use are an error of the case, a conflict a failure of the policy."""
    as_of = case.as_of or today
    try:
        decision = policy.evaluate(case.facts, as_of, path=case.path)
    except FactsError as error:
        key = f"facts.{error.fact}" if error.fact else "facts"
        return CaseResult(case, as_of, "error", error=CaseFileError(error.message, path=case.path, case=case.name, key=key))
    except ConflictError as error:
        return CaseResult(case, as_of, "failed", (Mismatch("decision", "a decision", f"a conflict: {error.message}"),))
    compared = ((key, expected) for key, expected in case.expect.items() if key not in ("results", "tolerance"))
    mismatches = tuple(Mismatch(key, expected, actual) for key, expected in compared if (actual := actual_value(key, decision)) != expected)
    mismatches += tuple(_results_mismatches(case, decision))
    return CaseResult(case, as_of, "failed" if mismatches else "passed", mismatches, decision)


def selected(cases: Iterable[Case], text: str | None) -> list[Case]:
    """The cases whose name contains ``text`` (any case of letters), as ``pytest -k`` picks tests by a part of their name."""
    if text is None:
        return list(cases)
    wanted = text.lower()
    return [c for c in cases if wanted in c.name.lower()]


# --- reporting -------------------------------------------------------------------------------


def rule_location(policy: Policy, label: str | None) -> str | None:
    """``PATH:LINE`` of a rule, for a reader to open it."""
    rule = policy.model.rules.get(label) if label else None
    return f"{rule.span.path}:{rule.span.line}" if rule is not None else None


def _written(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        items = [f"{v['name']}: {v['outcome']}" if isinstance(v, Mapping) else str(v) for v in value]
        return "[" + ", ".join(items) + "]"
    return str(value)


def failure_text(policy: Policy, result: CaseResult) -> str:
    """A failing case as the command prints it: each expected key that differs, expected then found, and the rule that decided."""
    case = result.case
    if result.status == "error":
        return "\n".join((for_terminal(f"ERROR {case.path}: {case.name}"), f"  {result.error}"))
    lines = [f"FAILED {case.path}: {case.name}", f"  as of {result.as_of.isoformat()}"]
    lines += [f"  {m.key}: expected {_written(m.expected)}, got {_written(m.actual)}" for m in result.mismatches]
    needed = needed_for_failure(result)
    if needed:
        lines.append(f"  undetermined until these facts are given: {', '.join(needed)}")
    if result.decision is not None and result.decision.decided_by:
        lines.append(f"  decided by rule {result.decision.decided_by} ({rule_location(policy, result.decision.decided_by)})")
    return "\n".join(for_terminal(line) for line in lines)


def needed_for_failure(result: CaseResult) -> tuple[str, ...]:
    """The facts whose absence made a failing case's decision undetermined where something settled was expected: why it failed."""
    d = result.decision
    if d is None or not d.needed_facts or result.status != "failed":
        return ()
    undetermined = any(m.actual == "undetermined" or (m.key == "elements" and any(e["outcome"] == "undetermined" for e in m.actual)) for m in result.mismatches)
    return d.needed_facts if undetermined else ()


def results_json(policy: Policy, results: Sequence[CaseResult]) -> str:
    """One object per case, in the order run; ASCII only, so no text from a case file can act on a terminal."""
    return json.dumps([r.to_dict(policy) for r in results], indent=2, ensure_ascii=True) + "\n"


def tally(results: Sequence[CaseResult]) -> str:
    """The last line: ``N passed, N failed``, and the cases that could not be run when there are any."""
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "error")}
    line = f"{counts['passed']} passed, {counts['failed']} failed"
    return line + (f", {counts['error']} could not be run" if counts["error"] else "")
