"""Every bundled case file's decisions as JSON lines, to compare two versions of the engine byte for byte.

A refactoring promises decisions that do not change. This writes, for each
bundled policy and each of its cases, the JSON decision with its trace and
without it, and the text ``explain`` prints; run it before and after a change
and compare the two files (``cmp``). It reads only the repository's own rules
and cases.

    python scripts/decision_snapshot.py > before.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from policy_rules import load_policy
from policy_rules.errors import PolicyError
from policy_rules.registers.facts import read_facts_file
from policy_rules.testing.cases import case_files, read_cases

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 12, 7)


def snapshot() -> list[str]:
    lines = []
    for rules in sorted((ROOT / "rules").iterdir()):
        cases = ROOT / "cases" / rules.name
        if not cases.is_dir():
            continue
        policy = load_policy(rules)
        for path in case_files([str(cases)]):
            for case in read_cases(path):
                for trace in (True, False):
                    try:
                        decision = policy.evaluate(case.facts, case.as_of or TODAY, trace=trace)
                        shown = {"decision": decision.to_dict(), "explain": decision.explain() if trace else None}
                    except PolicyError as error:
                        shown = {"error": type(error).__name__, "message": str(error)}
                    where = {"policy": rules.name, "file": Path(path).name, "case": case.name, "trace": trace}
                    lines.append(json.dumps({**where, **shown}, sort_keys=True))
    haringey, hillingdon = load_policy(ROOT / "rules" / "haringey"), load_policy(ROOT / "rules" / "hillingdon-dfg")
    for example in sorted((ROOT / "examples").glob("*")):
        if example.suffix in (".yaml", ".csv"):
            policy = hillingdon if example.name.startswith("hillingdon") else haringey
            for service in read_facts_file(str(example)).services:
                decision = policy.evaluate(service.raw, TODAY, path=str(example), index=service.index)
                lines.append(json.dumps({"example": example.name, "decision": decision.to_dict()}, sort_keys=True))
    return lines


if __name__ == "__main__":
    sys.stdout.write("\n".join(snapshot()) + "\n")
