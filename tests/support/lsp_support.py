"""An editor for the language server's tests: ``policy-rules lsp`` in a real subprocess, driven with pygls's own client over stdio."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parents[2]


class Editor:
    """One server process and the diagnostics it has published, by file."""

    def __init__(self, workspace: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("tests", "1")
        self.diagnostics: dict[str, list[t.Diagnostic]] = {}
        self.arrived: dict[str, float] = {}
        self.versions: dict[str, int] = {}

        @self.client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: t.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = list(params.diagnostics)
            self.arrived[params.uri] = time.perf_counter()

        @self.client.feature(t.WINDOW_SHOW_MESSAGE)
        def shown(params: t.ShowMessageParams) -> None:
            self.messages.append(params.message)

        self.messages: list[str] = []
        env = {**os.environ, "PYTHONPATH": str(ROOT), "POLICY_RULES_CACHE": "off"}
        self.run(self.client.start_io(sys.executable, "-m", "policy_rules.cli", "lsp", env=env))
        uri = from_fs_path(str(workspace))
        params = t.InitializeParams(capabilities=t.ClientCapabilities(), root_uri=uri, workspace_folders=[t.WorkspaceFolder(uri=uri or "", name="rules")])
        self.run(self.client.initialize_async(params))
        self.client.initialized(t.InitializedParams())

    def run(self, coroutine: Any, timeout: float = 30) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    def wait_for(self, uri: str, after: float, timeout: float = 20) -> list[t.Diagnostic]:
        """The diagnostics of ``uri`` published after the time ``after``."""
        deadline = time.perf_counter() + timeout
        while self.arrived.get(uri, -1) <= after:
            if time.perf_counter() > deadline:
                raise AssertionError(f"no diagnostics for {uri} within {timeout} s")
            self.loop.run_until_complete(asyncio.sleep(0.005))
        return self.diagnostics[uri]

    def open(self, path: Path, text: str | None = None) -> tuple[str, list[t.Diagnostic]]:
        uri = from_fs_path(str(path)) or ""
        now = time.perf_counter()
        self.versions[uri] = 1
        item = t.TextDocumentItem(uri=uri, language_id="policy-rules", version=1, text=path.read_text(encoding="utf-8") if text is None else text)
        self.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=item))
        return uri, self.wait_for(uri, now)

    def change(self, uri: str, text: str, line: int | None = None, column: int = 0, insert: str = "") -> float:
        """Replace the whole text, or insert ``insert`` at (line, column); the time it was sent."""
        self.versions[uri] += 1
        if line is None:
            change: Any = t.TextDocumentContentChangeWholeDocument(text=text)
        else:
            at = t.Position(line, column)
            change = t.TextDocumentContentChangePartial(range=t.Range(at, at), text=insert)
        now = time.perf_counter()
        doc = t.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        self.client.text_document_did_change(t.DidChangeTextDocumentParams(text_document=doc, content_changes=[change]))
        return now

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())
        self.loop.close()


def policy_copy(tmp: Path, name: str = "haringey") -> Path:
    folder = tmp / name
    shutil.copytree(ROOT / "rules" / name, folder)
    return folder


def doc(uri: str) -> t.TextDocumentIdentifier:
    return t.TextDocumentIdentifier(uri=uri)


def position_of(path: Path, text: str, nth: int = 0) -> t.Position:
    """The place of the ``nth`` occurrence of ``text`` in a file."""
    whole = path.read_text(encoding="utf-8")
    at = -1
    for _ in range(nth + 1):
        at = whole.index(text, at + 1)
    line = whole.count("\n", 0, at)
    return t.Position(line, at - (whole.rfind("\n", 0, at) + 1))
