"""What the documentation site shows, gathered from the policy, its case files and its scenarios, and the pages written from it.

Its place: ``docs.command`` calls ``build_site`` then ``write_site``. The
traceability the site publishes runs from a paragraph of a cited document to
the facts, values and rules citing it, and from each rule to the scenarios
and cases that saw it applying and not applying, with their last result. A
rule counts as covered as the step library's coverage counts it
(``testing.plugin``): seen both applying and not applying.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import attrs

from policy_rules.api import Policy
from policy_rules.language import nodes as n
from policy_rules.testing.plugin import APPLYING, NOT_APPLYING, rules_considered, seen_as

PAGES = ("index.html", "rules.html", "tests.html")


@attrs.frozen
class Citer:
    """A fact, value, definition or rule that cites a section: what it is and says, and where it is written."""

    kind: str
    name: str
    says: str | None
    paragraph: str | None
    location: str
    anchor: str


@attrs.define
class Section:
    title: str
    citers: list[Citer] = attrs.Factory(list)


@attrs.define
class Document:
    name: str
    title: str
    sections: list[Section]

    @property
    def page(self) -> str:
        return f"document-{self.name}.html"


@attrs.frozen
class Exercise:
    """One scenario or case that saw a rule: its name, where it is, its last result, and whether the rule applied there."""

    kind: str
    name: str
    where: str
    status: str
    applying: bool


@attrs.define
class Rule:
    label: str
    decision: str
    kind: str
    location: str
    because: str | None
    citations: list[tuple[str, str, str | None]]
    exercises: list[Exercise] = attrs.Factory(list)

    @property
    def applying(self) -> int:
        return sum(e.applying for e in self.exercises)

    @property
    def not_applying(self) -> int:
        return sum(not e.applying for e in self.exercises)

    @property
    def covered(self) -> bool:
        return self.applying > 0 and self.not_applying > 0


@attrs.frozen
class Run:
    """A scenario or a case and its last result."""

    kind: str
    group: str
    name: str
    where: str
    status: str
    detail: str | None = None


@attrs.define
class Site:
    title: str
    version: str
    digest: str
    built: str
    documents: list[Document]
    rules: list[Rule]
    runs: list[Run]
    uncited: list[Rule]

    @property
    def covered(self) -> int:
        return sum(r.covered for r in self.rules)

    def tally(self, kind: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.runs:
            if run.kind == kind:
                counts[run.status] = counts.get(run.status, 0) + 1
        return counts


def _where(span: n.Span, root: Path) -> str:
    return f"{_shown(Path(span.path), root)}:{span.line}"


def _citers(policy: Policy, root: Path) -> Iterable[tuple[n.Citation, Citer]]:
    model = policy.model
    declared: list[tuple[str, str, Any, str | None]] = [
        *(("fact", "fact", d, d.means) for d in model.facts.values()),
        *(("value", "value", d, d.means) for d in model.parameters.values()),
        *(("definition", "define", d, d.because) for d in model.defines.values()),
        *(("rule", "rule", d, d.because) for d in model.rules.values()),
    ]
    for kind, prefix, decl, says in declared:
        name = decl.label if kind == "rule" else decl.name
        for c in decl.citations:
            yield c, Citer(kind, name, says, c.paragraph, _where(decl.span, root), f"{prefix}-{name}")


def _documents(policy: Policy, root: Path) -> list[Document]:
    documents = {name: Document(name, decl.title, [Section(title) for title in decl.sections]) for name, decl in sorted(policy.model.documents.items())}
    for citation, citer in _citers(policy, root):
        document = documents.get(citation.document)
        if document is None:
            continue
        section = next((s for s in document.sections if s.title == citation.section), None)
        if section is None:
            section = Section(citation.section)
            document.sections.append(section)
        section.citers.append(citer)
    return list(documents.values())


def _rules(policy: Policy, root: Path) -> dict[str, Rule]:
    rules = {}
    for label, decl in policy.model.rules.items():
        kind = ("table row" if not decl.is_default else "table otherwise") if decl.table else ("default" if decl.is_default else "exception")
        citations = [(c.document, c.section, c.paragraph) for c in decl.citations]
        rules[label] = Rule(label, decl.decision.name, kind, _where(decl.span, root), decl.because, citations)
    return rules


def _applying(default: bool, status: str) -> bool | None:
    """Whether a rule seen with this status applied (True), did not (False), or cannot be told (None), as rule coverage counts it."""
    if default:
        return True if status == "decided" else False if status == "overridden" else None
    return True if status in APPLYING else False if status in NOT_APPLYING else None


def _saw(rules: dict[str, Rule], policy: Policy, seen: Mapping[str, Iterable[str]], kind: str, name: str, where: str, status: str) -> None:
    for label, statuses in seen.items():
        rule = rules.get(label)
        if rule is None:
            continue
        default = policy.model.rules[label].is_default
        for applying in sorted({a for s in statuses if (a := _applying(default, s)) is not None}, reverse=True):
            rule.exercises.append(Exercise(kind, name, where, status, applying))


def build_site(policy: Policy, rules_path: Path, case_paths: list[str], scenarios: list[dict[str, Any]], today: date, root: Path) -> Site:
    """Everything the pages show: documents and their citers, rules and what exercised them, every scenario and case with its result."""
    from policy_rules.testing import cases as c

    rules = _rules(policy, root)
    runs: list[Run] = []
    home = str(rules_path.resolve())
    for note in scenarios:
        if note["seen"] and home not in note["seen"]:
            continue  # a scenario of another policy in the same folder
        feature = Path(note["feature"])
        where = f"{_shown(feature, root)}:{note['line']}"
        runs.append(Run("scenario", f"{note['feature_name']} ({_shown(feature, root)})", note["scenario"], where, note["status"]))
        _saw(rules, policy, note["seen"].get(home, {}), "scenario", note["scenario"], where, note["status"])
    for path in c.case_files(case_paths):
        for case in c.read_cases(path):
            result = c.run_case(policy, case, today)
            detail = "; ".join(f"{m.key}: expected {m.expected}, found {m.actual}" for m in result.mismatches) or (
                result.error.message if result.error is not None else None
            )
            runs.append(Run("case", _shown(Path(path), root), case.name, _shown(Path(path), root), result.status, detail))
            if result.decision is not None:
                seen: dict[str, list[str]] = {}
                for rule in rules_considered(result.decision):
                    seen.setdefault(rule.label, []).append(seen_as(rule))
                _saw(rules, policy, seen, "case", case.name, _shown(Path(path), root), result.status)
    info = policy.info
    ordered = list(rules.values())
    return Site(info.name, info.version, info.digest, today.isoformat(), _documents(policy, root), ordered, runs, [r for r in ordered if not r.citations])


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def pages(site: Site) -> dict[str, str]:
    """Each page's file name and HTML, from the package's templates with autoescape on."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("policy_rules.docs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    rendered = {
        "index.html": environment.get_template("index.html").render(site=site, page="index.html"),
        "rules.html": environment.get_template("rules.html").render(site=site, page="rules.html"),
        "tests.html": environment.get_template("tests.html").render(site=site, page="tests.html"),
    }
    for document in site.documents:
        rendered[document.page] = environment.get_template("document.html").render(site=site, document=document, page=document.page)
    return rendered
