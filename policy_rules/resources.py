"""Files the package carries, found the same way installed or in a checkout; and files it keeps, written whole."""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path


def grammar_text() -> str:
    """The grammar's text, from the installed package or, in a checkout, ``grammar/``."""
    packaged = resources.files("policy_rules").joinpath("grammar/policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / "grammar" / "policy.lark"
    return checkout.read_text(encoding="utf-8")


def parser_tables_text(name: str) -> str | None:
    """A data file generated into the package itself (installed or in a checkout), or None when it is absent."""
    packaged = resources.files("policy_rules").joinpath(name)
    return packaged.read_text(encoding="utf-8") if packaged.is_file() else None


def write_whole(target: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``target`` through a temporary file beside it, renamed into place once complete.

    A reader never sees half a file, and a writer stopped part-way leaves the
    old file as it was (and a temporary file named ``.NAME.*.tmp``). The
    temporary file is readable by this user only unless ``mode`` says otherwise.
    """
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False) as f:
        try:
            f.write(text)
        except BaseException:
            f.close()
            os.unlink(f.name)
            raise
    if mode is not None:
        os.chmod(f.name, mode)
    os.replace(f.name, target)
