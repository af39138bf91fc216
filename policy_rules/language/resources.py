"""Files the package carries, found the same way installed or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def grammar_text() -> str:
    """The grammar's text, from the installed package or, in a checkout, ``grammar/``."""
    packaged = resources.files("policy_rules").joinpath("grammar/policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / "policy.lark"
    return checkout.read_text(encoding="utf-8")


def parser_tables_text(name: str) -> str | None:
    """A data file generated into the package itself (installed or in a checkout), or None when it is absent."""
    packaged = resources.files("policy_rules.language").joinpath(name)
    return packaged.read_text(encoding="utf-8") if packaged.is_file() else None
