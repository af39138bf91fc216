"""How soon the language server's diagnostics follow an edit in rules/haringey.

Run it from the repository::

    python -m benchmarks.lsp [--edits 20]

It starts ``policy-rules lsp`` in a subprocess, as an editor does, with
pygls's client over stdio, opens ``50-delivery.rules`` of a copy of
rules/haringey, then makes ``--edits`` edits one after another, each
waiting for the diagnostics of the one before: a letter typed into a fact's
name (an error appears), then taken out again (it goes). Each figure is the
time from sending the change to receiving its diagnostics, so it includes the
server's debounce (``lsp.server.DEBOUNCE``), the check of the whole folder
and the round trip. Printed: the median, the fastest and the slowest; the
target is a median under 200 ms. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from policy_rules.lsp.server import DEBOUNCE
from tests.support.lsp_support import Editor, policy_copy, position_of


def measure(edits: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="bench-lsp-") as where:
        folder = policy_copy(Path(where))
        path = folder / "50-delivery.rules"
        editor = Editor(folder.parent)
        try:
            uri, _ = editor.open(path)
            at = position_of(path, "nhs_expertise")
            times = []
            for i in range(edits):
                if i % 2 == 0:
                    sent = editor.change(uri, "", at.line, at.character + 3, "x")
                else:
                    sent = editor.change(uri, path.read_text(encoding="utf-8"))
                found = editor.wait_for(uri, sent)
                assert bool(found) == (i % 2 == 0), found
                times.append(editor.arrived[uri] - sent)
            return times
        finally:
            editor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    times = measure(args.edits)
    ms = [t * 1000 for t in times]
    print(f"diagnostics after an edit of rules/haringey/50-delivery.rules, {len(ms)} edits (debounce {DEBOUNCE * 1000:.0f} ms included):")
    print(f"  median {statistics.median(ms):.0f} ms, fastest {min(ms):.0f} ms, slowest {max(ms):.0f} ms (target: median under 200 ms)")


if __name__ == "__main__":
    main()
