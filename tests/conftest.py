"""Shared helpers for the parser, builder and checker tests: rule text in, findings out."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from policy_rules.api import analyse
from policy_rules.errors import Diagnostic

RULES_PATH = "policy.rules"


def findings(text: str, path: str = RULES_PATH) -> list[str]:
    """Every diagnostic of one rule file, as ``PATH:LINE:COL: SEVERITY: MESSAGE``, in order."""
    _model, diagnostics = analyse({path: textwrap.dedent(text)}, "test policy")
    return [_line(d) for d in diagnostics]


def _line(d: Diagnostic) -> str:
    return f"{d.span}: {d.severity}: {d.message}"


@pytest.fixture
def diagnose() -> Callable[..., list[str]]:
    """``diagnose(text)``: every finding in the dedented rule text."""
    return findings


@pytest.fixture
def errors() -> Callable[..., list[str]]:
    """``errors(text)``: only the errors, so a test need not spell out unrelated warnings."""
    return lambda text, path=RULES_PATH: [f for f in findings(text, path) if ": error: " in f]
