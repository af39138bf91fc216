"""``policy-rules lsp`` driven as an editor drives it: JSON-RPC over stdio to a real subprocess, on copies of rules/haringey."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lsprotocol import types as t

from tests.support.lsp_support import Editor, doc, policy_copy, position_of


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Editor, Path]:
    folder = policy_copy(tmp_path_factory.mktemp("lsp"))
    editor = Editor(folder.parent)
    yield editor, folder
    editor.close()


@pytest.fixture
def editor(tmp_path: Path) -> tuple[Editor, Path]:
    folder = policy_copy(tmp_path)
    found = Editor(tmp_path)
    yield found, folder
    found.close()


def test_a_misspelt_name_is_reported_where_it_stands_with_a_quick_fix(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    path = folder / "30-exceptions.rules"
    uri, first = ed.open(path)
    assert first == []
    text = path.read_text(encoding="utf-8")
    at = position_of(path, "safeguarding_concern")
    sent = ed.change(uri, "", at.line, at.character + len("safeguarding_conc"), "x")
    found = ed.wait_for(uri, sent)
    assert [(d.range.start.line, d.range.start.character, d.range.end.character, d.severity) for d in found] == [
        (at.line, at.character, at.character + len("safeguarding_concxern"), t.DiagnosticSeverity.Error)
    ]
    assert found[0].message == "`safeguarding_concxern` is not declared; did you mean `safeguarding_concern`?"
    actions = ed.run(ed.client.text_document_code_action_async(t.CodeActionParams(doc(uri), found[0].range, t.CodeActionContext(diagnostics=found))))
    assert [a.title for a in actions] == ["Change `safeguarding_concxern` to `safeguarding_concern`"]
    (edit,) = actions[0].edit.changes[uri]
    assert (edit.range, edit.new_text) == (found[0].range, "safeguarding_concern")
    sent = ed.change(uri, text)
    assert ed.wait_for(uri, sent) == []


def test_a_file_that_does_not_parse_gets_the_parser_s_located_message(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    _uri, found = ed.open(
        folder / "70-new.rules",
        'rule extra\n  exception to in_house_at_once\n  when nhs_expertise\n  then in_house_mode is in_house\n  because "x"\n'
        '  cites haringey seciton "Principles"\n',
    )
    assert [(d.range.start.line, d.range.start.character) for d in found] == [(5, 17)]
    assert "found the name `seciton`" in found[0].message
    assert found[0].severity == t.DiagnosticSeverity.Error


def test_brackets_after_where_are_offered_as_a_fix(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    text = 'define some_specialist as\n  any part in elements where part.specialist or part.other_provider_better_placed\n  because "x"\n'
    uri, found = ed.open(folder / "70-new.rules", text)
    assert len(found) == 1 and found[0].message.startswith("the condition after `where` joins conditions with `or`")
    actions = ed.run(ed.client.text_document_code_action_async(t.CodeActionParams(doc(uri), found[0].range, t.CodeActionContext(diagnostics=found))))
    assert len(actions) == 1
    edits = sorted(actions[0].edit.changes[uri], key=lambda e: e.range.start.character)
    assert [(e.range.start.line, e.range.start.character, e.new_text) for e in edits] == [(1, 29, "("), (1, 81, ")")]


def test_hover_on_a_fact_shows_its_type_meaning_question_and_citation(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    found = ed.run(ed.client.text_document_hover_async(t.HoverParams(doc(uri), position_of(path, "nhs_expertise"))))
    assert found.contents.value == (
        "**fact** `nhs_expertise` — yes/no\n\nmeans: the NHS brings specialist knowledge that the service needs\n\n"
        "asks: Does the NHS bring specialist knowledge the service needs?\n\n"
        'cites Haringey Council insourcing policy (Appendix 1), section "Relationship to existing council policy"'
    )


def test_hover_on_a_parameter_shows_its_dated_values(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    text = (
        'parameter threshold is money\n  means "the smallest contract the council reviews"\n  value £10,000 from 2020-04-01 until 2024-03-31\n'
        "  value £12,000 from 2024-04-01\n"
    )
    path = folder / "70-new.rules"
    path.write_text(text, encoding="utf-8")
    uri, _ = ed.open(path)
    found = ed.run(ed.client.text_document_hover_async(t.HoverParams(doc(uri), t.Position(0, 12))))
    assert found.contents.value == (
        "**parameter** `threshold` — money\n\nmeans: the smallest contract the council reviews\n\n"
        "- £10,000 from 2020-04-01 until 2024-03-31\n\n- £12,000 from 2024-04-01"
    )


def test_definition_of_a_rule_named_in_exception_to_and_of_a_cited_document(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    found = ed.run(ed.client.text_document_definition_async(t.DefinitionParams(doc(uri), position_of(path, "in_house_at_once", 1))))
    at = position_of(path, "in_house_at_once")
    assert [(x.uri, x.range.start, x.range.end.character) for x in found] == [(uri, at, at.character + len("in_house_at_once"))]
    found = ed.run(ed.client.text_document_definition_async(t.DefinitionParams(doc(uri), position_of(path, "cites haringey"))))
    assert found == []
    cited = position_of(path, "haringey section")
    found = ed.run(ed.client.text_document_definition_async(t.DefinitionParams(doc(uri), cited)))
    declared = position_of(folder / "00-policy.rules", 'document haringey "')
    assert [(Path(x.uri).name, x.range.start.line) for x in found] == [("00-policy.rules", declared.line)]


def test_references_of_a_fact_across_the_folder(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    where = position_of(path, "vcs_reach")
    found = ed.run(
        ed.client.text_document_references_async(
            t.ReferenceParams(text_document=doc(uri), position=where, context=t.ReferenceContext(include_declaration=True))
        )
    )
    places = sorted((x.uri.rsplit("/", 1)[1], x.range.start.line) for x in found)
    expected = sorted(
        (p.name, i) for p in folder.glob("*.rules") for i, line in enumerate(p.read_text(encoding="utf-8").split("\n")) if "vcs_reach" in line.split("#")[0]
    )
    assert places == expected and len(places) >= 2


def test_table_rows_are_in_the_outline_under_their_table(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    found = ed.run(ed.client.text_document_document_symbol_async(t.DocumentSymbolParams(doc(uri))))
    top = [(s.name, s.detail) for s in found]
    assert top[:3] == [("delivery", "decision"), ("delivery_route", "table"), ("in_house_mode", "decision")]
    rows = [c.name for c in found[1].children]
    assert rows == [
        "partner_with_nhs",
        "partner_with_vcs",
        "partner_with_public_body",
        "procure_from_local_provider",
        "procure_when_not_appropriate",
        "hybrid_for_specialist_elements",
        "insource_by_default",
    ]
    assert found[1].children[0].selection_range.start == position_of(path, "partner_with_nhs")


def test_completion_of_names_and_of_record_fields_after_a_dot(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    path = folder / "30-exceptions.rules"
    uri, _ = ed.open(path)
    names = ed.run(ed.client.text_document_completion_async(t.CompletionParams(doc(uri), t.Position(6, 4))))
    labels = {i.label: i for i in names.items}
    assert {"nhs_expertise", "safeguarding_concern", "affordable_in_house", "delivery", "hybrid"} <= set(labels)
    assert labels["nhs_expertise"].kind == t.CompletionItemKind.Variable
    at = position_of(path, "(part.specialist")
    ed.change(uri, "", at.line, at.character + 1, "part.")
    found = ed.run(ed.client.text_document_completion_async(t.CompletionParams(doc(uri), t.Position(at.line, at.character + 6))))
    assert sorted(i.label for i in found.items) == ["name", "other_provider_better_placed", "specialist"]


def test_rename_a_fact_and_a_rule_across_the_folder(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    edit = ed.run(
        ed.client.text_document_rename_async(t.RenameParams(text_document=doc(uri), position=position_of(path, "nhs_expertise"), new_name="nhs_know_how"))
    )
    files = {u.rsplit("/", 1)[1]: sorted(e.range.start.line for e in edits) for u, edits in edit.changes.items()}
    assert set(files) == {"10-facts.rules", "50-delivery.rules"}
    assert all(e.new_text == "nhs_know_how" for edits in edit.changes.values() for e in edits)
    edit = ed.run(
        ed.client.text_document_rename_async(t.RenameParams(text_document=doc(uri), position=position_of(path, "in_house_at_once", 1), new_name="at_once"))
    )
    assert sorted(e.range.start.line for e in edit.changes[uri]) == sorted(
        [position_of(path, "in_house_at_once").line, position_of(path, "in_house_at_once", 1).line]
    )
    with pytest.raises(Exception, match="already declared"):
        ed.run(ed.client.text_document_rename_async(t.RenameParams(text_document=doc(uri), position=position_of(path, "nhs_expertise"), new_name="vcs_reach")))
    with pytest.raises(Exception, match="cannot be a name"):
        ed.run(ed.client.text_document_rename_async(t.RenameParams(text_document=doc(uri), position=position_of(path, "nhs_expertise"), new_name="when")))


def test_formatting_gives_fmt_s_layout(editor: tuple[Editor, Path]) -> None:
    ed, folder = editor
    path = folder / "30-exceptions.rules"
    canonical = path.read_text(encoding="utf-8")
    messy = canonical.replace("\n  because", "\n        because").replace("any of (", "any of(")
    uri, _ = ed.open(path, messy)
    found = ed.run(ed.client.text_document_formatting_async(t.DocumentFormattingParams(doc(uri), t.FormattingOptions(tab_size=2, insert_spaces=True))))
    assert len(found) == 1 and found[0].new_text == canonical
    assert found[0].range.start == t.Position(0, 0)


def test_saving_adds_the_findings_of_analyse(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    path = folder / "policy.rules"
    path.write_text(
        'fact urgent is yes/no\n  asks "Is it urgent?"\n\ndecision route\n  outcomes usual, fast\n\n'
        'rule usual_route\n  by default route is usual\n  because "most cases"\n  cites guide section "Routes"\n\n'
        "rule fast_route\n  exception to usual_route\n  when urgent and not urgent\n  then route is fast\n"
        '  because "urgent cases"\n  cites guide section "Routes"\n\n'
        'document guide "The guide"\n  sections "Routes"\n',
        encoding="utf-8",
    )
    ed = Editor(tmp_path)
    try:
        uri, found = ed.open(path)
        assert found == []
        sent = time.perf_counter()
        ed.client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=doc(uri)))
        found = ed.wait_for(uri, sent)
        while not found:
            found = ed.wait_for(uri, ed.arrived[uri])
        assert [(d.source, d.code, d.range.start.line, d.severity) for d in found] == [
            ("policy-rules analyse", "never_applies", 11, t.DiagnosticSeverity.Warning)
        ]
    finally:
        ed.close()


def test_hover_on_a_rule_and_a_decision(shared: tuple[Editor, Path]) -> None:
    ed, folder = shared
    path = folder / "50-delivery.rules"
    uri, _ = ed.open(path)
    found = ed.run(ed.client.text_document_hover_async(t.HoverParams(doc(uri), position_of(path, "in_house_at_once", 1))))
    assert found.contents.value == (
        "**rule** `in_house_at_once`\n\n"
        "because: with the capacity and the skills already in place the council can run the service itself straight away\n\n"
        "the default rule of `in_house_mode`\n\n"
        'cites Haringey Council insourcing policy (Appendix 1), section "Implementation plan"'
    )
    found = ed.run(ed.client.text_document_hover_async(t.HoverParams(doc(uri), position_of(path, "delivery\n"))))
    assert found.contents.value == (
        "**decision** `delivery` — one of partnership_nhs, partnership_vcs, partnership_public, procure_local, procure, in_house, in_house_phased, hybrid"
        "\n\nmeans: how the service is to be delivered"
    )


def test_the_server_exits_with_status_0_after_shutdown(tmp_path: Path) -> None:
    ed = Editor(policy_copy(tmp_path).parent)
    process = ed.client._server
    ed.close()
    assert process is not None and process.returncode == 0
