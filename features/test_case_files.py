"""Every bundled policy passes its own case files: ``policy-rules test rules/NAME cases/NAME``.

The case files, like the scenarios, describe a bundled policy; a change to
its rules that changes a case's decision fails here, beside the scenarios,
and nowhere in ``tests/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(p.name for p in (ROOT / "cases").iterdir() if p.is_dir() and (ROOT / "rules" / p.name).is_dir())


def test_every_folder_of_case_files_has_its_policy() -> None:
    folders = sorted(p.name for p in (ROOT / "cases").iterdir() if p.is_dir())
    assert folders == POLICIES, "each folder of cases/ is named after a policy folder of rules/"


@pytest.mark.parametrize("name", POLICIES)
def test_the_policy_passes_its_case_files(name: str) -> None:
    command = [sys.executable, "-m", "policy_rules.cli", "test", f"rules/{name}", f"cases/{name}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith(" passed, 0 failed")
