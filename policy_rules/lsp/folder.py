"""What the language server knows of one policy folder: its diagnostics, and where each name is declared and used.

Its place: between the front end and ``lsp.server``. The files are parsed
and checked by ``language.loader.analyse`` (the parser and checker of
``check``, never a second one); each file's AST is kept in memory, so an
edit parses only the file edited. From the ASTs' spans it lists every
occurrence of a declared name (facts, defined values, parameters,
decisions, rules and table rows, records and their fields, documents,
outcomes), which hover, definition, references, completion, rename and the
outline read. A file that no longer parses keeps its last good AST for
completion and hover, and is left out of renames.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from policy_rules.errors import Diagnostic, text_lines
from policy_rules.language import nodes as n
from policy_rules.language.checker import default_title, type_from_ref
from policy_rules.language.loader import analyse, parse_file

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AFTER_KEYWORD = re.compile(r"[A-Za-z_]+(?:\s|#[^\n]*)+([A-Za-z_][A-Za-z0-9_]*)")
_SUGGESTION = re.compile(r"did you mean (`[^`]+`|\"[^\"]+\")\?")
_WHERE_BRACKETS = ("the condition after `where`", "` is followed by a comparison")


@attrs.frozen
class Target:
    """What an occurrence names: ``kind`` is name (fact, define, parameter, decision), rule, table, record, field, document or outcome."""

    kind: str
    name: str


@attrs.frozen
class Occurrence:
    """One name in a file: 0-based line, code-point columns ``[start, end)``."""

    path: str
    line: int
    start: int
    end: int
    target: Target
    definition: bool


@attrs.frozen
class Fix:
    """A change the checker's message suggests: replace ``[start, end)`` of a 0-based line (or insert, when they are equal)."""

    title: str
    edits: tuple[tuple[int, int, int, int, str], ...]  # (line, start, end_line, end, new text)


class Folder:
    """One policy folder as the editor sees it: the texts (open buffers over the files), the ASTs, the diagnostics, the names."""

    def __init__(self, home: str) -> None:
        self.home = home
        self.texts: dict[str, str] = {}
        self.asts: dict[str, n.RuleFile] = {}
        self.parsed: dict[str, tuple[str, n.RuleFile | None, list[Diagnostic]]] = {}
        self.broken: set[str] = set()
        self.diagnostics: dict[str, list[Diagnostic]] = {}
        self.occurrences: dict[str, list[Occurrence]] = {}
        self.declarations: dict[Target, list[tuple[str, object]]] = {}
        self.model = None

    def _read(self, path: str, text: str) -> tuple[n.RuleFile | None, list[Diagnostic]]:
        found = self.parsed.get(path)
        if found is None or found[0] != text:
            ast, errors = parse_file(path, text)
            found = (text, ast, errors)
            self.parsed[path] = found
        return found[1], found[2]

    def update(self, texts: dict[str, str], problems: list[Diagnostic]) -> None:
        """Check the folder's files as they now read; ``problems`` are files that could not be read at all."""
        self.texts = dict(texts)
        for gone in set(self.parsed) - set(texts):
            del self.parsed[gone]
            self.asts.pop(gone, None)
        model, found = analyse(self.texts, default_title(self.home), read=self._read) if self.texts else (None, [])
        self.model = model
        self.broken = set()
        for path, (_text, ast, _errors) in self.parsed.items():
            if ast is None:
                self.broken.add(path)
            else:
                self.asts[path] = ast
        self.diagnostics = {path: [] for path in self.texts}
        for d in [*problems, *found]:
            self.diagnostics.setdefault(d.span.path, []).append(d)
        self._index()

    # --- names ---------------------------------------------------------------

    def _index(self) -> None:
        self.occurrences = {}
        self.declarations = {}
        self.records = {}
        self.fact_records: dict[str, str] = {}
        for ast in self.asts.values():
            for d in _flat(ast):
                if isinstance(d, n.RecordDecl):
                    self.records[d.name] = d
                if isinstance(d, n.FactDecl) and d.type.kind == "list" and d.type.record:
                    self.fact_records[d.name] = d.type.record
        self.outcomes = {o.name for ast in self.asts.values() for d in ast.declarations if isinstance(d, n.DecisionDecl) for o in d.outcomes}
        self.names = {d.name for ast in self.asts.values() for d in _flat(ast) if isinstance(d, n.FactDecl | n.DefineDecl | n.ParameterDecl | n.DecisionDecl)}
        self.decision_items = {
            d.name: (d.for_each.item, d.for_each.collection.name)
            for ast in self.asts.values()
            for d in ast.declarations
            if isinstance(d, n.DecisionDecl) and d.for_each
        }
        for path, ast in self.asts.items():
            self._walk_file(path, ast)

    def _add(self, path: str, span: n.Span, target: Target, definition: bool = False, decl: object = None) -> None:
        if span.line < 1:
            return
        self.occurrences.setdefault(path, []).append(Occurrence(path, span.line - 1, span.column - 1, span.end_column - 1, target, definition))
        if definition:
            self.declarations.setdefault(target, []).append((path, decl))

    def _declared(self, path: str, span: n.Span, target: Target, decl: object) -> None:
        """The name after the declaration's keyword (``fact NAME``, ``rule NAME``, ``row NAME``, ``cites NAME``)."""
        found = self._word_after_keyword(path, span)
        if found is not None:
            self._add(path, found, target, definition=decl is not None, decl=decl)

    def _word_after_keyword(self, path: str, span: n.Span) -> n.Span | None:
        lines = text_lines(self.texts.get(path, ""))
        if not 1 <= span.line <= len(lines):
            return None
        offset = sum(len(x) + 1 for x in lines[: span.line - 1]) + span.column - 1
        text = self.texts[path]
        match = _AFTER_KEYWORD.match(text, offset)
        if match is None:
            return None
        line = text.count("\n", 0, match.start(1)) + 1
        column = match.start(1) - (text.rfind("\n", 0, match.start(1)) + 1) + 1
        return n.Span(path, line, column, line, column + len(match.group(1)))

    def _walk_file(self, path: str, ast: n.RuleFile) -> None:
        for d in ast.declarations:
            if isinstance(d, n.PolicyHeader):
                for ref in (d.service_name, d.outcome, d.priority, d.reasons, d.element_outcomes):
                    if ref is not None:
                        self._add(path, ref.span, Target("name", ref.name))
            elif isinstance(d, n.DocumentDecl):
                self._declared(path, d.span, Target("document", d.name), d)
            elif isinstance(d, n.RecordDecl):
                self._declared(path, d.span, Target("record", d.name), d)
                for f in d.fields:
                    self._declared(path, f.span, Target("field", f"{d.name}.{f.name}"), f)
            elif isinstance(d, n.TableDecl):
                self._declared(path, d.span, Target("table", d.name), d)
                self._add(path, d.decision.span, Target("name", d.decision.name))
                for rule in d.rules:
                    self._rule(path, rule)
            elif isinstance(d, n.RuleDecl):
                self._rule(path, d)
            else:
                self._declared(path, d.span, Target("name", d.name), d)
                if isinstance(d, n.FactDecl | n.ParameterDecl) and d.type.kind == "list" and d.type.record:
                    self._type_record(path, d.type)
                if isinstance(d, n.DecisionDecl):
                    if d.for_each is not None:
                        self._add(path, d.for_each.collection.span, Target("name", d.for_each.collection.name))
                    for o in d.outcomes:
                        self._add(path, o.span, Target("outcome", o.name), definition=True, decl=d)
                if isinstance(d, n.DefineDecl):
                    self._expr(path, d.body, {})
            for c in getattr(d, "citations", ()):
                self._declared(path, c.span, Target("document", c.document), None)

    def _type_record(self, path: str, t: n.TypeRef) -> None:
        end = n.Span(path, t.span.end_line, t.span.end_column - len(t.record or ""), t.span.end_line, t.span.end_column)
        self._add(path, end, Target("record", t.record or ""))

    def _rule(self, path: str, rule: n.RuleDecl) -> None:
        self._declared(path, rule.span, Target("rule", rule.label), rule)
        if rule.table is None:
            self._add(path, rule.decision.span, Target("name", rule.decision.name))
            if rule.parent is not None:
                self._add(path, rule.parent.span, Target("rule", rule.parent.name))
        scope: dict[str, str] = {}
        item = self.decision_items.get(rule.decision.name)
        if item is not None and item[1] in self.fact_records:
            scope[item[0]] = self.fact_records[item[1]]
        for part in (rule.condition, rule.conclusion):
            if part is not None:
                self._expr(path, part, scope)
        for c in rule.citations:
            self._declared(path, c.span, Target("document", c.document), None)

    def _expr(self, path: str, e: object, scope: dict[str, str]) -> None:
        if isinstance(e, n.Name):
            if e.name in scope:
                return
            kind = "name" if e.name in self.names or e.name not in self.outcomes else "outcome"
            self._add(path, e.span, Target(kind, e.name))
            return
        if isinstance(e, n.Field):
            record = scope.get(e.item)
            if record is not None:
                span = n.Span(path, e.span.end_line, e.span.end_column - len(e.field), e.span.end_line, e.span.end_column)
                self._add(path, span, Target("field", f"{record}.{e.field}"))
            return
        if isinstance(e, n.Over):
            self._add(path, e.collection.span, Target("name", e.collection.name))
            inner = dict(scope)
            if e.collection.name in self.fact_records:
                inner[e.item] = self.fact_records[e.collection.name]
            self._expr(path, e.condition, inner)
            return
        if not attrs.has(type(e)):
            return
        for field in attrs.fields(type(e)):
            if field.name == "span":
                continue
            value = getattr(e, field.name)
            for child in value if isinstance(value, tuple) else (value,):
                if attrs.has(type(child)):
                    self._expr(path, child, scope)

    # --- questions from the editor -------------------------------------------

    def at(self, path: str, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 0-based position (the end of a word counts, where the cursor stops after typing it)."""
        return next((o for o in self.occurrences.get(path, ()) if o.line == line and o.start <= column <= o.end), None)

    def definitions(self, target: Target) -> list[Occurrence]:
        return [o for found in self.occurrences.values() for o in found if o.target == target and o.definition]

    def references(self, target: Target, include_declaration: bool) -> list[Occurrence]:
        return [o for found in self.occurrences.values() for o in found if o.target == target and (include_declaration or not o.definition)]

    def decls(self, target: Target) -> list[object]:
        return [decl for _path, decl in self.declarations.get(target, [])]

    def hover(self, target: Target) -> str | None:
        """What a name is, in Markdown: its kind and type, ``means``/``asks``, dated values, ``because``, citations."""
        parts = [describe(decl, target, self) for decl in self.decls(target)]
        return "\n\n---\n\n".join(p for p in parts if p) or None

    def citation_text(self, c: n.Citation) -> str:
        doc = next((d for d in self.decls(Target("document", c.document)) if isinstance(d, n.DocumentDecl)), None)
        title = doc.title if doc is not None else c.document
        paragraph = f', paragraph "{c.paragraph}"' if c.paragraph else ""
        return f'cites {title}, section "{c.section}"{paragraph}'

    def source_of(self, span: n.Span) -> str:
        lines = text_lines(self.texts.get(span.path, ""))
        if not 1 <= span.line <= span.end_line <= len(lines):
            return ""
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1 : span.end_column - 1]
        chunk = [lines[span.line - 1][span.column - 1 :], *lines[span.line : span.end_line - 1], lines[span.end_line - 1][: span.end_column - 1]]
        return "\n".join(chunk)

    def completions(self, path: str, line: int, column: int) -> list[tuple[str, str, str, str]]:
        """The names that may be typed here: (label, kind, detail, documentation)."""
        lines = text_lines(self.texts.get(path, ""))
        before = lines[line][:column] if 0 <= line < len(lines) else ""
        field = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9_]*)$", before)
        if field is not None:
            record = self._record_of_item(path, line, field.group(1))
            decl = self.records.get(record or "")
            return [(f.name, "field", type_from_ref(f.type).words, f.means or "") for f in decl.fields] if decl else []
        if re.search(r"\bexception\s+to\s+[A-Za-z0-9_]*$", before):
            return [(t.name, "rule", "rule", _first(self.decls(t), "because")) for t in self.declarations if t.kind == "rule"]
        if re.search(r"\bcites\s+[A-Za-z0-9_]*$", before):
            return [(t.name, "document", "document", getattr(self.decls(t)[0], "title", "")) for t in self.declarations if t.kind == "document"]
        found: list[tuple[str, str, str, str]] = []
        for t in sorted(self.declarations, key=lambda t: t.name):
            decl = self.decls(t)[0]
            if t.kind == "name":
                found.append((t.name, kind_of(decl), type_words(decl, self), getattr(decl, "means", None) or ""))
            elif t.kind == "outcome":
                found.append((t.name, "outcome", "outcome of " + ", ".join(sorted({d.name for d in self.decls(t)})), ""))  # type: ignore[attr-defined]
        return found

    def _record_of_item(self, path: str, line: int, item: str) -> str | None:
        """The record an item name stands for: bound by a quantifier above the cursor, or the ``for each`` of the rule's decision."""
        lines = text_lines(self.texts.get(path, ""))
        above = "\n".join(lines[max(0, line - 40) : line + 1])
        bound = re.findall(rf"\b(?:any|every|no|of|each)\s+{re.escape(item)}\s+in\s+([A-Za-z_][A-Za-z0-9_]*)", above)
        if bound:
            return self.fact_records.get(bound[-1])
        collection = next((c for i, c in self.decision_items.values() if i == item), None)
        return self.fact_records.get(collection or "")

    def fixes(self, d: Diagnostic) -> list[Fix]:
        """The fixes a diagnostic's message suggests: the nearest name, or brackets after ``where``."""
        text = self.texts.get(d.span.path, "")
        lines = text_lines(text)
        if not 1 <= d.span.line <= len(lines):
            return []
        suggestion = _SUGGESTION.search(d.message)
        if suggestion is not None:
            new = suggestion.group(1)
            quote = new[0]
            wrong = [w for w in re.findall(rf"{quote}([^{quote}]+){quote}", d.message[: suggestion.start()])]
            new = new[1:-1]
            if " " in new and quote == "`":
                return []
            row = d.span.line - 1
            start = d.span.column - 1
            end_line = max(d.span.end_line - 1, row)
            for word in wrong:
                pattern = re.compile(rf'"{re.escape(word)}"' if quote == '"' else rf"\b{re.escape(word)}\b")
                for r in range(row, end_line + 1):
                    match = pattern.search(lines[r], start if r == row else 0)
                    if match is not None:
                        replacement = f'"{new}"' if quote == '"' else new
                        return [Fix(f"Change `{word}` to `{new}`", ((r, match.start(), r, match.end(), replacement),))]
            return []
        if any(mark in d.message for mark in _WHERE_BRACKETS):
            source = self.source_of(d.span)
            where = re.search(r"\bwhere\b\s*", source)
            if where is None:
                return []
            before = source[: where.end()]
            row = d.span.line - 1 + before.count("\n")
            column = len(before) - (before.rfind("\n") + 1) + (d.span.column - 1 if "\n" not in before else 0)
            end = (d.span.end_line - 1, d.span.end_column - 1)
            title = "Put brackets around the condition after `where`, so that it is tested on each item"
            return [Fix(title, ((row, column, row, column, "("), (end[0], end[1], end[0], end[1], ")")))]
        return []

    def symbols(self, path: str) -> Iterator[tuple[str, str, object, n.Span | None, list[tuple[str, str, object, n.Span | None]]]]:
        """The outline of a file: (name, kind, declaration, name span, children)."""
        ast = self.asts.get(path)
        if ast is None:
            return
        for d in ast.declarations:
            if isinstance(d, n.PolicyHeader):
                yield (d.title, "policy", d, None, [])
            elif isinstance(d, n.TableDecl):
                rows = [(r.label, "rule", r, self._word_after_keyword(path, r.span)) for r in d.rules]
                yield (d.name, "table", d, self._word_after_keyword(path, d.span), rows)
            elif isinstance(d, n.RecordDecl):
                fields = [(f.name, "field", f, self._word_after_keyword(path, f.span)) for f in d.fields]
                yield (d.name, "record", d, self._word_after_keyword(path, d.span), fields)
            else:
                name = d.label if isinstance(d, n.RuleDecl) else d.name
                yield (name, kind_of(d), d, self._word_after_keyword(path, d.span), [])


def _flat(ast: n.RuleFile) -> Iterator[object]:
    for d in ast.declarations:
        if isinstance(d, n.TableDecl):
            yield d
            yield from d.rules
        else:
            yield d


def _first(decls: list[object], attribute: str) -> str:
    return next((getattr(d, attribute) or "" for d in decls), "")


def kind_of(decl: object) -> str:
    return {
        n.FactDecl: "fact",
        n.DefineDecl: "define",
        n.ParameterDecl: "parameter",
        n.DecisionDecl: "decision",
        n.RuleDecl: "rule",
        n.RecordDecl: "record",
        n.DocumentDecl: "document",
        n.TableDecl: "table",
        n.FieldDecl: "field",
    }.get(type(decl), "declaration")


def type_words(decl: object, folder: Folder) -> str:
    t = getattr(decl, "type", None)
    if isinstance(t, n.TypeRef):
        return type_from_ref(t).words
    if isinstance(decl, n.DecisionDecl):
        return "one of " + ", ".join(o.name for o in decl.outcomes)
    model = folder.model
    if isinstance(decl, n.DefineDecl) and model is not None and decl.name in model.name_types:
        return model.name_types[decl.name].words
    return ""


def describe(decl: object, target: Target, folder: Folder) -> str:
    """One declaration in Markdown, for a hover."""
    kind = kind_of(decl)
    if target.kind == "outcome" and isinstance(decl, n.DecisionDecl):
        return f"**outcome** `{target.name}` of decision `{decl.name}`" + (f"\n\n{decl.means}" if decl.means else "")
    name = decl.label if isinstance(decl, n.RuleDecl) else getattr(decl, "name", target.name)
    words = type_words(decl, folder)
    lines = [f"**{kind}** `{name}`" + (f" — {words}" if words else "")]
    for label, attribute in (("means", "means"), ("asks", "asks"), ("because", "because")):
        value = getattr(decl, attribute, None)
        if value:
            lines.append(f"{label}: {value}")
    if isinstance(decl, n.FactDecl):
        if decl.default is not None:
            lines.append(f"default: {decl.default.text}")
        if decl.reference:
            lines.append("kept for reference")
    if isinstance(decl, n.ParameterDecl):
        for v in decl.values:
            until = f" until {v.valid_until}" if v.valid_until else ""
            lines.append(f"- {v.value.text} from {v.valid_from}{until}")
    if isinstance(decl, n.DefineDecl):
        lines.append("```policy-rules\n" + folder.source_of(decl.body.span) + "\n```")
    if isinstance(decl, n.RuleDecl):
        if decl.table is not None:
            lines.append(f"a row of table `{decl.table}`, deciding `{decl.decision.name}`")
        elif decl.parent is not None:
            lines.append(f"an exception to `{decl.parent.name}`, deciding `{decl.decision.name}`")
        else:
            lines.append(f"the default rule of `{decl.decision.name}`")
    if isinstance(decl, n.DocumentDecl):
        lines.append(decl.title)
        if decl.sections:
            lines.append("sections: " + ", ".join(f'"{s}"' for s in decl.sections))
    lines.extend(folder.citation_text(c) for c in getattr(decl, "citations", ()))
    return "\n\n".join(lines)


def policy_home(path: str, roots: list[str]) -> str:
    """The policy folder a rule file belongs to: the nearest folder above it holding a policy header, within the editor's workspace.

    The search climbs while folders hold rule files (a policy's files may sit in subfolders of the one
    with its header) and stops at a workspace folder; without a header, the file's own folder.
    """
    from policy_rules.language.loader import _POLICY_HEADER

    start = Path(path).parent
    folder = start
    while True:
        files = sorted(folder.glob("*.rules"))
        if not files:
            break
        for f in files:
            try:
                if _POLICY_HEADER.search(f.read_text(encoding="utf-8-sig", errors="replace")[:100_000]):
                    return str(folder)
            except OSError:
                continue
        if str(folder) in roots or folder.parent == folder:
            break
        folder = folder.parent
    return str(start)
