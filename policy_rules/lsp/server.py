"""``policy-rules lsp``: the Language Server Protocol over stdio, with pygls, answered from ``lsp.folder``.

Its place: the editor's side of the front end. Opening or editing a rule
file checks its whole policy folder (edits are debounced: the check runs
once typing pauses for ``DEBOUNCE`` seconds) and publishes the diagnostics
``check`` reports; saving also runs ``policy-rules analyse`` on the folder
in a process of its own, stopped after ``analyse_budget`` seconds, and adds
its findings. Hover, definition, references, completion, rename, formatting
(``fmt``'s layout), the outline and quick fixes read the folder's names.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from policy_rules import __version__
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError, text_lines
from policy_rules.language import nodes as n
from policy_rules.lsp.folder import NAME, Fix, Folder, Occurrence, Target, policy_home

DEBOUNCE = 0.1
LANGUAGE_ID = "policy-rules"
_KINDS = {
    "fact": t.CompletionItemKind.Variable,
    "define": t.CompletionItemKind.Function,
    "parameter": t.CompletionItemKind.Constant,
    "decision": t.CompletionItemKind.Enum,
    "outcome": t.CompletionItemKind.EnumMember,
    "rule": t.CompletionItemKind.Reference,
    "document": t.CompletionItemKind.File,
    "field": t.CompletionItemKind.Field,
}
_SYMBOLS = {
    "policy": t.SymbolKind.Package,
    "fact": t.SymbolKind.Variable,
    "define": t.SymbolKind.Function,
    "parameter": t.SymbolKind.Constant,
    "decision": t.SymbolKind.Enum,
    "rule": t.SymbolKind.Method,
    "table": t.SymbolKind.Struct,
    "record": t.SymbolKind.Class,
    "field": t.SymbolKind.Field,
    "document": t.SymbolKind.File,
}
RENAMED = ("name", "rule")


class RulesServer(LanguageServer):
    """The server's state: one ``Folder`` per policy folder, the open buffers, the pending checks."""

    def __init__(self, analyse_budget: float = 10.0) -> None:
        super().__init__("policy-rules", __version__, text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.analyse_budget = analyse_budget
        self.folders: dict[str, Folder] = {}
        self.open: dict[str, str] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.findings: dict[str, dict[str, list[t.Diagnostic]]] = {}
        self.published: dict[str, set[str]] = {}

    def roots(self) -> list[str]:
        return [to_fs_path(f.uri) or "" for f in self.workspace.folders.values()]

    def folder_of(self, path: str) -> Folder:
        home = policy_home(path, self.roots())
        folder = self.folders.get(home)
        if folder is None:
            folder = self.folders[home] = Folder(home)
            self.refresh(folder)
        return folder

    def refresh(self, folder: Folder) -> None:
        """Read the folder's files (open buffers over them) and check them: the diagnostics ``check`` reports."""
        from policy_rules.language.loader import policies, read_sources

        problems: list[Diagnostic] = []
        try:
            texts = read_sources([folder.home])
        except RuleFileError as error:
            texts, problems = {}, list(error.diagnostics)
        except PolicyError:
            texts = {}
        for path, text in self.open.items():
            if os.path.dirname(path) == folder.home or path.startswith(folder.home + os.sep):
                texts[path] = text
        groups = policies(texts)
        if len(groups) > 1:
            texts = next((g for home, g in groups if home == folder.home), groups[0][1])
        folder.update(texts, problems)

    def publish(self, folder: Folder) -> None:
        paths = set(folder.diagnostics) | self.published.get(folder.home, set())
        extra = self.findings.get(folder.home, {})
        for path in sorted(paths | set(extra)):
            found = [to_lsp(folder, d) for d in folder.diagnostics.get(path, [])] + extra.get(path, [])
            self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=from_fs_path(path) or path, diagnostics=found))
        self.published[folder.home] = set(folder.diagnostics)

    def check_now(self, path: str) -> None:
        folder = self.folder_of(path)
        self.pending.pop(folder.home, None)
        self.refresh(folder)
        self.publish(folder)

    def check_later(self, path: str) -> None:
        home = policy_home(path, self.roots())
        earlier = self.pending.pop(home, None)
        if earlier is not None:
            earlier.cancel()
        self.pending[home] = asyncio.get_running_loop().call_later(DEBOUNCE, self.check_now, path)

    async def analyse(self, path: str) -> None:
        """``policy-rules analyse`` on the saved folder, in a process of its own, within the time budget."""
        folder = self.folder_of(path)
        if any(d.severity == "error" for found in folder.diagnostics.values() for d in found):
            return
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "policy_rules.cli",
            "analyse",
            folder.home,
            "--format",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), self.analyse_budget)
        except TimeoutError:
            process.kill()
            await process.wait()
            message = f"the analysis of the rules took longer than {self.analyse_budget:g} seconds and was stopped; run `policy-rules analyse {folder.home}`"
            self.window_show_message(t.ShowMessageParams(t.MessageType.Info, message))
            return
        try:
            found = json.loads(out or b"[]")
        except ValueError:
            return
        by_path: dict[str, list[t.Diagnostic]] = {}
        for item in found:
            where, line, column = item["location"].rsplit(":", 2)
            row, col = int(line) - 1, int(column) - 1
            lines = text_lines(folder.texts.get(where, ""))
            end = len(lines[row]) if 0 <= row < len(lines) else col
            severity = t.DiagnosticSeverity.Error if item["severity"] == "error" else t.DiagnosticSeverity.Warning
            rng = t.Range(t.Position(row, col), t.Position(row, end))
            by_path.setdefault(where, []).append(
                t.Diagnostic(range=encode(folder, where, rng), message=item["message"], severity=severity, source="policy-rules analyse", code=item["kind"])
            )
        self.findings[folder.home] = by_path
        self.publish(folder)


def encode(folder: Folder, path: str, rng: t.Range) -> t.Range:
    """A range in code points to the client's units (UTF-16 unless agreed otherwise)."""
    return server.workspace.position_codec.range_to_client_units(text_lines(folder.texts.get(path, "")), rng)


def decode(folder: Folder, path: str, position: t.Position) -> tuple[int, int]:
    found = server.workspace.position_codec.position_from_client_units(text_lines(folder.texts.get(path, "")), position)
    return found.line, found.character


def to_lsp(folder: Folder, d: Diagnostic) -> t.Diagnostic:
    """A checker's diagnostic where it stands; a point is widened to the word there, so that the editor underlines it."""
    line, column = max(d.span.line - 1, 0), max(d.span.column - 1, 0)
    end_line, end = max(d.span.end_line - 1, 0), max(d.span.end_column - 1, 0)
    if (end_line, end) <= (line, column):
        lines = text_lines(folder.texts.get(d.span.path, ""))
        word = NAME.match(lines[line], column) if line < len(lines) else None
        end_line, end = line, word.end() if word else column + 1
    severity = t.DiagnosticSeverity.Error if d.severity == "error" else t.DiagnosticSeverity.Warning
    rng = t.Range(t.Position(line, column), t.Position(end_line, end))
    return t.Diagnostic(range=encode(folder, d.span.path, rng), message=d.message, severity=severity, source="policy-rules")


def location(folder: Folder, o: Occurrence) -> t.Location:
    return t.Location(uri=from_fs_path(o.path) or o.path, range=encode(folder, o.path, t.Range(t.Position(o.line, o.start), t.Position(o.line, o.end))))


server = RulesServer()


def _path(uri: str) -> str:
    return os.path.abspath(to_fs_path(uri) or uri)


def _occurrence(uri: str, position: t.Position) -> tuple[Folder, str, Occurrence | None]:
    path = _path(uri)
    folder = server.folder_of(path)
    line, column = decode(folder, path, position)
    return folder, path, folder.at(path, line, column)


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: RulesServer, params: t.DidOpenTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    ls.open[path] = params.text_document.text
    ls.check_now(path)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RulesServer, params: t.DidChangeTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    ls.open[path] = ls.workspace.get_text_document(params.text_document.uri).source
    ls.findings.pop(policy_home(path, ls.roots()), None)
    ls.check_later(path)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: RulesServer, params: t.DidSaveTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    ls.check_now(path)
    await ls.analyse(path)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RulesServer, params: t.DidCloseTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    ls.open.pop(path, None)
    ls.check_now(path)


@server.feature(t.TEXT_DOCUMENT_HOVER)
def hover(ls: RulesServer, params: t.HoverParams) -> t.Hover | None:
    folder, _, found = _occurrence(params.text_document.uri, params.position)
    if found is None:
        return None
    text = folder.hover(found.target)
    if text is None:
        return None
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text), range=location(folder, found).range)


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def definition(ls: RulesServer, params: t.DefinitionParams) -> list[t.Location]:
    folder, _, found = _occurrence(params.text_document.uri, params.position)
    return [location(folder, o) for o in folder.definitions(found.target)] if found else []


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
def references(ls: RulesServer, params: t.ReferenceParams) -> list[t.Location]:
    folder, _, found = _occurrence(params.text_document.uri, params.position)
    return [location(folder, o) for o in folder.references(found.target, params.context.include_declaration)] if found else []


@server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=["."]))
def completion(ls: RulesServer, params: t.CompletionParams) -> t.CompletionList:
    path = _path(params.text_document.uri)
    folder = server.folder_of(path)
    if path in ls.open and folder.texts.get(path) != ls.open[path]:
        ls.check_now(path)
    line, column = decode(folder, path, params.position)
    items = [
        t.CompletionItem(label=label, kind=_KINDS.get(kind), detail=f"{kind}: {detail}" if detail else kind, documentation=doc or None)
        for label, kind, detail, doc in folder.completions(path, line, column)
    ]
    return t.CompletionList(is_incomplete=False, items=items)


def _renamable(folder: Folder, found: Occurrence | None) -> Occurrence:
    if found is None or found.target.kind not in RENAMED:
        raise JsonRpcInvalidParams("only the name of a fact, defined value, parameter or decision, or a rule's label, can be renamed here")
    if folder.broken:
        raise JsonRpcInvalidParams("some rule files of this policy do not parse; fix them before renaming: " + ", ".join(sorted(folder.broken)))
    return found


@server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: RulesServer, params: t.PrepareRenameParams) -> t.Range | None:
    folder, _, found = _occurrence(params.text_document.uri, params.position)
    if found is None or found.target.kind not in RENAMED:
        return None
    return location(folder, found).range


@server.feature(t.TEXT_DOCUMENT_RENAME)
def rename(ls: RulesServer, params: t.RenameParams) -> t.WorkspaceEdit:
    folder, _, found = _occurrence(params.text_document.uri, params.position)
    found = _renamable(folder, found)
    new = params.new_name
    if not NAME.fullmatch(new) or not _is_name(new):
        raise JsonRpcInvalidParams(f"`{new}` cannot be a name: a name is letters, digits and _, starts with a letter and is not a word of the language")
    taken = Target(found.target.kind, new)
    if taken in folder.declarations and new != found.target.name:
        where = folder.definitions(taken)
        at = f" at {where[0].path}:{where[0].line + 1}" if where else ""
        raise JsonRpcInvalidParams(f"`{new}` is already declared{at}; choose another name")
    changes: dict[str, list[t.TextEdit]] = {}
    for o in folder.references(found.target, True):
        changes.setdefault(from_fs_path(o.path) or o.path, []).append(t.TextEdit(range=location(folder, o).range, new_text=new))
    return t.WorkspaceEdit(changes=changes)


def _is_name(word: str) -> bool:
    import re

    from policy_rules.language.parser import lark_parser

    return re.fullmatch(lark_parser().get_terminal("NAME").pattern.to_regexp(), word) is not None


@server.feature(t.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: RulesServer, params: t.DocumentFormattingParams) -> list[t.TextEdit]:
    from policy_rules.language.format import format_text

    path = _path(params.text_document.uri)
    text = ls.workspace.get_text_document(params.text_document.uri).source
    try:
        formatted = format_text(text, path)
    except PolicyError as error:
        ls.window_show_message(t.ShowMessageParams(t.MessageType.Warning, error.message))
        return []
    if formatted == text:
        return []
    lines = text_lines(text)
    end = server.workspace.position_codec.position_to_client_units(lines, t.Position(len(lines) - 1, len(lines[-1])))
    return [t.TextEdit(range=t.Range(t.Position(0, 0), end), new_text=formatted)]


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(ls: RulesServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
    path = _path(params.text_document.uri)
    folder = server.folder_of(path)

    def symbol(name: str, kind: str, decl: Any, span: n.Span | None, children: list[t.DocumentSymbol]) -> t.DocumentSymbol:
        whole = decl.span
        rng = encode(folder, path, t.Range(t.Position(whole.line - 1, whole.column - 1), t.Position(whole.end_line - 1, whole.end_column - 1)))
        chosen = (
            rng if span is None else encode(folder, path, t.Range(t.Position(span.line - 1, span.column - 1), t.Position(span.line - 1, span.end_column - 1)))
        )
        return t.DocumentSymbol(
            name=name, kind=_SYMBOLS.get(kind, t.SymbolKind.Object), range=rng, selection_range=chosen, detail=kind, children=children or None
        )

    return [symbol(name, kind, decl, span, [symbol(*child, []) for child in children]) for name, kind, decl, span, children in folder.symbols(path)]


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]))
def code_actions(ls: RulesServer, params: t.CodeActionParams) -> list[t.CodeAction]:
    path = _path(params.text_document.uri)
    folder = server.folder_of(path)
    uri = params.text_document.uri
    actions: list[t.CodeAction] = []
    for d in folder.diagnostics.get(path, []):
        shown = to_lsp(folder, d)
        if shown.range.end.line < params.range.start.line or shown.range.start.line > params.range.end.line:
            continue
        for fix in folder.fixes(d):
            actions.append(_action(folder, path, uri, fix, shown))
    return actions


def _action(folder: Folder, path: str, uri: str, fix: Fix, shown: t.Diagnostic) -> t.CodeAction:
    edits = [t.TextEdit(range=encode(folder, path, t.Range(t.Position(a, b), t.Position(c, e))), new_text=text) for a, b, c, e, text in fix.edits]
    return t.CodeAction(title=fix.title, kind=t.CodeActionKind.QuickFix, diagnostics=[shown], is_preferred=True, edit=t.WorkspaceEdit(changes={uri: edits}))


def run(analyse_budget: float = 10.0) -> None:
    """Serve one editor over stdin and stdout until it says exit."""
    server.analyse_budget = analyse_budget
    server.start_io()
