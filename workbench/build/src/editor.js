// The workbench's rule editor: CodeMirror 6 with a small stream highlighter for the rule language
// and the checker's findings shown as lint diagnostics. Built by build.mjs into one minified file.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { StreamLanguage, HighlightStyle, syntaxHighlighting, bracketMatching } from "@codemirror/language";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { tags } from "@lezer/highlight";

const KEYWORDS = new Set([
  "policy", "version", "outcome", "priority", "reasons", "element", "outcomes", "service", "name",
  "document", "sections", "section", "fact", "record", "field", "define", "decision", "rule", "table",
  "means", "asks", "default", "by", "exception", "to", "when", "then", "because", "cites", "as", "is",
  "and", "or", "not", "of", "one", "list", "known", "unknown", "at", "least", "most", "above", "below",
  "within", "from", "today", "months", "days", "years", "for", "each", "first", "parameter", "yes", "no",
  "whole", "number", "money", "date", "text", "in", "any", "all", "every", "with", "row", "if", "else",
]);

const ruleLanguage = StreamLanguage.define({
  name: "policy-rules",
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match(/^#.*/)) return "comment";
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return "string";
    if (stream.match(/^£?\d[\d,]*(?:\.\d+)?%?/)) return "number";
    if (stream.match(/^\d{4}-\d{2}-\d{2}/)) return "number";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (word) return KEYWORDS.has(word[0]) ? "keyword" : "variableName";
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "#" } },
});

// Colours chosen for at least 4.5:1 contrast on white, so the accessibility check passes.
const ruleHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#5b2a86", fontWeight: "bold" },
  { tag: tags.string, color: "#1d5e20" },
  { tag: tags.number, color: "#8a3b00" },
  { tag: tags.comment, color: "#4f5760", fontStyle: "italic" },
  { tag: tags.variableName, color: "#0b3d91" },
]);

function create(parent, { doc = "", label = "Rule file", onChange = () => {} } = {}) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        lintGutter(),
        ruleLanguage,
        syntaxHighlighting(ruleHighlight),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // findings: [{line, column, severity, message}] with 1-based line and column.
    setFindings(findings) {
      const doc = view.state.doc;
      const shown = findings.map((f) => {
        const line = doc.line(Math.min(Math.max(f.line, 1), doc.lines));
        const from = Math.min(line.from + Math.max(f.column - 1, 0), line.to);
        return { from, to: Math.max(from, line.to), severity: f.severity === "error" ? "error" : "warning", message: f.message };
      });
      view.dispatch(setDiagnostics(view.state, shown));
    },
    focus: () => view.focus(),
  };
}

window.PolicyEditor = { create };
