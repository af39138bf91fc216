"""Making text from rule files and facts safe where it is shown: terminal, CSV, Markdown, HTML.

Text that reaches the user from a rule file or a facts file (a service name,
a `because` text, a listed value, an error message quoting a line) is data
written by someone else. Each place it is shown has its own way of turning
data into action: control sequences on a terminal, formulas in a spreadsheet,
markup in Markdown and HTML. Every renderer passes such text through the one
function here for its medium, so the rule for each medium is written once.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: The bidirectional controls that can make text read in another order than it
#: is stored (the "Trojan Source" trick, CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _visible(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_hidden(ch: str) -> bool:
    """Control characters, separators that break lines, and bidi/format characters."""
    if ch in BIDI_CONTROLS:
        return True
    category = unicodedata.category(ch)
    return category in ("Cc", "Zl", "Zp") or (category == "Cf" and ch != "\u200d")


def for_terminal(text: str, *, keep_lines: bool = False) -> str:
    """Text with every control, line-separator and bidi character shown as an escape (``\\x1b``), never sent.

    ``keep_lines`` lets newlines and tabs through, for multi-line output the
    tool itself laid out; the text of one value should not use it.
    """
    if text.isprintable():
        return text
    kept = "\n\t" if keep_lines else ""
    return "".join(_visible(ch) if ch not in kept and not ch.isprintable() and _is_hidden(ch) else ch for ch in text)


#: Characters that make a spreadsheet read a cell as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_csv_cell(value: str) -> str:
    """A cell a spreadsheet will show as text: one starting like a formula gets a leading apostrophe.

    This is OWASP's advice for CSV injection. A plain negative number (``-12``,
    ``-1.5``) is left alone, since a spreadsheet cannot run it and officers
    expect to sum it.
    """
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


_PLAIN_NUMBER = re.compile(r"-\d+(\.\d+)?")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def for_markdown(text: str) -> str:
    """Text shown literally in Markdown: every character with a meaning escaped, HTML included.

    Renderers that turn Markdown into HTML also pass raw HTML through, so
    ``<`` and ``&`` are escaped too; line breaks become spaces so one value
    cannot start a heading or a table row.
    """
    flat = for_terminal(text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def for_markdown_code(text: str) -> str:
    """Text inside a Markdown code span: backticks cannot close it, and HTML stays inert."""
    flat = for_terminal(text.replace("\n", " ")).replace("`", "'")
    return flat


def for_html(text: str) -> str:
    """Text shown literally in HTML, in an element or a quoted attribute."""
    return html.escape(for_terminal(text, keep_lines=True), quote=True)
