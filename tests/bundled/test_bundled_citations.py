"""The documents that the bundled rules, cases and benchmarks cite by file name are in the repository, so a reader can open them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CITING = sorted(p for pattern in ("rules/**/*.rules", "cases/**/*.yaml", "benchmarks/*.py") for p in ROOT.glob(pattern))
_CITED = re.compile(r"[\w./-]+\.md\b")


@pytest.mark.parametrize("path", CITING, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_markdown_file_a_bundled_file_names_exists(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    names = {m.group(0).rstrip(".") for m in _CITED.finditer(text) if "://" not in text[max(0, m.start() - 10) : m.start()]}
    missing = sorted(n for n in names if not (ROOT / n).exists() and not (path.parent / n).exists())
    assert missing == [], f"{path.relative_to(ROOT)} names {missing}, which are not in the repository"
