"""Running a folder of scenarios for the documentation, in a pytest process of its own.

Its place: ``docs.site`` asks ``run_scenarios`` for the last result of every
scenario and the rules each saw. The scenarios run as ``pytest`` runs them
(the step library of ``policy_rules.testing`` binds them), from a test module
written in a temporary folder that binds the features folder, with
``docs.recorder`` listening; paths in steps are read from the current folder,
as when the scenarios are run from the project's root.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from policy_rules.errors import UsageError

#: The longest a run of scenarios may take, in seconds.
TIMEOUT = 900


def run_scenarios(features: Path, root: Path) -> list[dict[str, Any]]:
    """Each scenario's notes: feature, name, line, ``status`` (passed, failed, expected failure, not run) and ``seen`` (policy folder -> rule -> statuses)."""
    if find_spec("pytest_bdd") is None:
        raise UsageError("running scenarios needs pytest-bdd (pip install 'policy-rules[test]')", "--features")
    if not features.is_dir():
        raise UsageError("there is no such folder of feature files; check the path", str(features))
    with tempfile.TemporaryDirectory(prefix="policy-docs-") as folder:
        work = Path(folder)
        module = work / "test_policy_docs_scenarios.py"
        module.write_text(f"from pytest_bdd import scenarios\n\nscenarios({str(features.resolve())!r})\n", encoding="utf-8")
        (work / "pytest.ini").write_text("[pytest]\npolicy_rules_coverage = report\n", encoding="utf-8")
        results = work / "results.json"
        command = [sys.executable, "-m", "pytest", str(module), "-q", "-c", str(work / "pytest.ini"), "--rootdir", str(root)]
        command += ["-p", "policy_rules.docs.recorder", "--policy-docs-results", str(results), "-p", "no:cacheprovider", "-p", "no:randomly"]
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise UsageError(f"the scenarios took more than {TIMEOUT // 60} minutes to run; the site was not written", str(features)) from None
        if not results.exists():
            last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
            raise UsageError(f"the scenarios could not be run ({last}); the site was not written", str(features))
        notes: list[dict[str, Any]] = json.loads(results.read_text(encoding="utf-8"))
    return notes
