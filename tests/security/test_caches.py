"""Caches that can never run code: the parser's tables and the parse cache.

Lark's own cache used to read a pickle from ``/tmp/.lark_cache_<user>_<hash>_3_11.tmp``
and the parse cache read its entries with pickle, so a file planted by another
local user ran code as whoever checked a policy next. Each planted file here
creates a marker file when unpickled; the tests assert the marker never appears.
"""

from __future__ import annotations

import ast
import getpass
import hashlib
import io
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import time
import tokenize
from pathlib import Path

import pytest
from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from policy_rules.language import ast_json, parser_tables
from policy_rules.language.loader import CACHE_ENTRIES_PER_FOLDER, _make_room, analyse
from policy_rules.language.resources import grammar_text
from tests.support.cli_helpers import HARINGEY, ROOT, run_cli

PACKAGE = ROOT / "policy_rules"
SERVICES = ROOT / "examples" / "facilities-management.yaml"
HARINGEY_CLEAN = f"{len(list(HARINGEY.glob('*.rules')))} files checked: 0 errors, 0 warnings\n"  # as many as the bundled rules hold


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the marker file proves the pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _pickle_payload(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker))


def _old_lark_cache_name(temp: Path) -> Path:
    """Where the old ``Lark(..., cache=True)`` looked for its pickle, computed as Lark does."""
    import lark

    options = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": False, "cache": True}
    text = grammar_text() + "".join(k + str(v) for k, v in options.items()) + lark.__version__ + str(sys.version_info[:2])
    digest = hashlib.sha256(text.encode("utf8")).hexdigest()
    return temp / f".lark_cache_{getpass.getuser()}_{digest}_{sys.version_info[0]}_{sys.version_info[1]}.tmp"


def _copy_of_haringey(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(HARINGEY, rules)
    return rules


def test_the_old_lark_cache_name_is_computed_as_lark_computes_it(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    script = (
        "from lark import Lark; from policy_rules.language.resources import grammar_text\n"
        "Lark(grammar_text(), parser='lalr', lexer='contextual', propagate_positions=True, maybe_placeholders=False, cache=True)"
    )
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "TMPDIR": str(temp)}, cwd=ROOT, check=True)
    assert sorted(temp.iterdir()) == [_old_lark_cache_name(temp)]


def test_a_pickle_planted_where_lark_kept_its_cache_is_never_loaded(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = tmp_path / "marker"
    payload = _pickle_payload(marker)
    planted = _old_lark_cache_name(temp)
    planted.write_bytes(planted.name.split("_")[3].encode() + b"\n" + payload + payload)
    for other in ("cache", "cache_grammar"):
        (temp / f".lark_{other}_{getpass.getuser()}_0_3_11.tmp").write_bytes(payload)
    before = sorted(temp.iterdir())
    env = {"TMPDIR": str(temp), "POLICY_RULES_CACHE": "off"}
    checked = run_cli("check", str(HARINGEY), env=env)
    broken = run_cli("check", "01-misspelt-default.rules", cwd=ROOT / "tests" / "broken", env=env)
    evaluated = run_cli("evaluate", str(HARINGEY), str(SERVICES), "--format", "json", env=env)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", HARINGEY_CLEAN)
    assert broken.returncode == 1 and "01-misspelt-default.rules:" in broken.stdout
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["outcome"] == "hybrid"
    assert not marker.exists()
    assert sorted(temp.iterdir()) == before


def _fill_cache(rules: Path, cache: Path) -> list[Path]:
    done = run_cli("check", str(rules), env={"POLICY_RULES_CACHE": str(cache)})
    assert (done.returncode, done.stderr) == (0, HARINGEY_CLEAN)
    entries = sorted(cache.glob("??/*.json"))
    assert len(entries) == len(list(HARINGEY.glob("*.rules")))
    return entries


def test_pickles_planted_under_the_genuine_keys_of_the_parse_cache_are_never_loaded(tmp_path: Path) -> None:
    rules = _copy_of_haringey(tmp_path)
    cache = tmp_path / "cache"
    entries = _fill_cache(rules, cache)
    genuine = {e: e.read_text(encoding="utf-8") for e in entries}
    marker = tmp_path / "marker"
    for entry in entries:
        entry.write_bytes(_pickle_payload(marker))
        (entry.parent / entry.stem).write_bytes(_pickle_payload(marker))  # the name the pickle cache gave it
    env = {"POLICY_RULES_CACHE": str(cache)}
    checked = run_cli("check", str(rules), env=env)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", HARINGEY_CLEAN)
    assert not marker.exists()
    assert {e: e.read_text(encoding="utf-8") for e in entries} == genuine  # parsed again and stored as JSON
    evaluated = run_cli("evaluate", str(rules), str(SERVICES), "--format", "json", env=env)
    expected = run_cli("evaluate", str(rules), str(SERVICES), "--format", "json", env={"POLICY_RULES_CACHE": "off"})
    assert evaluated.returncode == expected.returncode == 0
    assert evaluated.stdout == expected.stdout
    assert not marker.exists()


def test_an_entry_that_names_a_class_outside_the_ast_or_links_elsewhere_is_parsed_again(tmp_path: Path) -> None:
    rules = _copy_of_haringey(tmp_path)
    cache = tmp_path / "cache"
    first, second, *_ = _fill_cache(rules, cache)
    entry = json.loads(first.read_text(encoding="utf-8"))
    entry["ast"] = {"@": "Popen", "v": [["touch", str(tmp_path / "marker")]]}
    first.write_text(json.dumps(entry), encoding="utf-8")
    outside = tmp_path / "outside.json"
    outside.write_text(second.read_text(encoding="utf-8"), encoding="utf-8")
    second.unlink()
    second.symlink_to(outside)
    with pytest.raises(ValueError, match="not a node of a parsed file: Popen"):
        ast_json.loads(first.read_text(encoding="utf-8"), entry["key"], "any.rules")
    checked = run_cli("check", str(rules), env={"POLICY_RULES_CACHE": str(cache)})
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", HARINGEY_CLEAN)
    assert not (tmp_path / "marker").exists()
    assert json.loads(first.read_text(encoding="utf-8"))["ast"]["@"] == "RuleFile"
    assert not second.is_symlink() and json.loads(second.read_text(encoding="utf-8"))["key"] + ".json" == second.name


def _planted_decision_change(rules: Path, cache: Path) -> None:
    """Store, under the genuine key of 30-exceptions.rules, the entry of a broken version of it."""
    target = rules / "30-exceptions.rules"
    good = target.read_text(encoding="utf-8")
    before = set(cache.glob("??/*.json"))
    target.write_text(good + "\nrule broken\n  exception too nothing\n", encoding="utf-8")
    run_cli("check", str(rules), env={"POLICY_RULES_CACHE": str(cache)})
    [broken] = set(cache.glob("??/*.json")) - before
    target.write_text(good, encoding="utf-8")
    [genuine] = [e for e in before if json.loads(e.read_text(encoding="utf-8"))["ast"]["v"][0] == str(target)]
    planted = json.loads(broken.read_text(encoding="utf-8"))
    planted["key"] = genuine.stem
    genuine.write_text(json.dumps(planted), encoding="utf-8")


@pytest.mark.parametrize("unsafe", ["root world-writable", "subfolder group-writable", "root of another user"])
def test_a_cache_folder_others_can_write_is_refused_with_one_warning(tmp_path: Path, unsafe: str) -> None:
    rules = _copy_of_haringey(tmp_path)
    cache = tmp_path / "cache"
    _fill_cache(rules, cache)
    _planted_decision_change(rules, cache)
    env = {"POLICY_RULES_CACHE": str(cache)}
    trusted = run_cli("check", str(rules), env=env)
    assert trusted.returncode == 1  # in the user's own folder the entry is trusted: the folder is the defence
    if unsafe == "root world-writable":
        cache.chmod(0o777)
        shown, problem = cache, "can be written by other users"
    elif unsafe == "subfolder group-writable":
        for sub in cache.glob("??"):
            sub.chmod(0o770)
        shown, problem = cache / "??", "can be written by other users"  # the first subfolder met
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        os.chown(cache, 4242, -1)
        shown, problem = cache, "belongs to another user"
    entries = {e: e.read_bytes() for e in cache.glob("??/*.json")}
    checked = run_cli("check", str(rules), env=env)
    warning, summary = checked.stderr.splitlines(keepends=True)
    assert checked.returncode == 0
    assert checked.stdout == ""
    assert summary == HARINGEY_CLEAN
    assert Path(warning.split()[6]).match(str(shown))
    assert warning == f"policy-rules: warning: the parse cache folder {warning.split()[6]} {problem}, so it is not used; rule files are parsed instead\n"
    assert {e: e.read_bytes() for e in cache.glob("??/*.json")} == entries  # nothing written there either


def test_cache_folders_are_made_for_the_user_alone(tmp_path: Path) -> None:
    rules = _copy_of_haringey(tmp_path)
    cache = tmp_path / "deep" / "er" / "cache"
    entries = _fill_cache(rules, cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert {stat.S_IMODE(e.parent.stat().st_mode) for e in entries} == {0o700}
    assert {stat.S_IMODE(e.stat().st_mode) for e in entries} == {0o600}
    assert (cache / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55\n")


def test_clean_up_removes_only_entries_the_cache_made(tmp_path: Path) -> None:
    rules = _copy_of_haringey(tmp_path)
    cache = tmp_path / "shared"
    entries = _fill_cache(rules, cache)
    others = {cache / "notes.txt": b"keep me", cache / "00" / "register.csv": b"a,b\n"}
    old = time.time() - 86400
    for entry in entries:
        folder = entry.parent
        others[folder / "keep.txt"] = b"not the cache's"
        others[folder / entry.stem] = b"a name without .json"
        others[folder / f"{entry.stem}.json.bak"] = b"a backup"
        others[folder / "ffff.json"] = b"{}"
        for i in range(CACHE_ENTRIES_PER_FOLDER + 8):
            own = folder / f"{folder.name}{i:062x}.json"
            own.write_text("{}", encoding="utf-8")
            os.utime(own, (old + i, old + i))
        entry.unlink()
    for path, data in others.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (old - 1, old - 1))
    again = run_cli("check", str(rules), env={"POLICY_RULES_CACHE": str(cache)})
    assert (again.returncode, again.stderr) == (0, HARINGEY_CLEAN)
    assert {path: path.read_bytes() for path in others} == others
    for entry in entries:
        assert entry.exists()
        own = [p for p in entry.parent.glob(f"{entry.parent.name}*.json") if len(p.stem) == 64]  # not the folder "ff"'s own ffff.json
        assert len(own) <= CACHE_ENTRIES_PER_FOLDER


def test_make_room_keeps_the_newest_entries_and_removes_only_stale_partial_writes(tmp_path: Path) -> None:
    folder = tmp_path / "ab"
    folder.mkdir()
    names = [f"ab{i:062x}.json" for i in range(CACHE_ENTRIES_PER_FOLDER + 3)]
    for i, name in enumerate(names):
        (folder / name).write_text("{}", encoding="utf-8")
        os.utime(folder / name, (1000 + i, 1000 + i))
    stale = folder / f".ab{0:062x}.json.x1y2.part"
    fresh = folder / f".ab{1:062x}.json.z3w4.part"
    stale.write_text("", encoding="utf-8")
    os.utime(stale, (1000, 1000))
    fresh.write_text("", encoding="utf-8")
    (folder / "readme").write_text("", encoding="utf-8")
    _make_room(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([fresh.name, "readme", *names[-(CACHE_ENTRIES_PER_FOLDER - 1) :]])


@pytest.mark.parametrize("cache", ["off", "on"])
def test_check_and_evaluate_leave_nothing_in_a_fresh_temporary_folder(tmp_path: Path, cache: str) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "POLICY_RULES_CACHE": "off" if cache == "off" else str(tmp_path / "cache")}
    for _ in range(2):  # the second run reads the parse cache, when there is one
        checked = run_cli("check", str(HARINGEY), env=env)
        evaluated = run_cli("evaluate", str(HARINGEY), str(SERVICES), env=env)
        assert (checked.returncode, checked.stderr) == (0, HARINGEY_CLEAN)
        assert evaluated.returncode == 0, evaluated.stderr
    assert list(temp.iterdir()) == []


_NEVER_IMPORTED = {"pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def test_nothing_in_the_package_can_load_a_pickle_or_marshal_data() -> None:
    problems = []
    for source in sorted(PACKAGE.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        tree = ast.parse(text)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{source.name}:{node.lineno}: imports {a.name}" for a in node.names if a.name.split(".")[0] in _NEVER_IMPORTED]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _NEVER_IMPORTED:
                problems.append(f"{source.name}:{node.lineno}: imports from {node.module}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if any(word in node.value for word in ("pickle", "marshal")):
                    problems.append(f"{source.name}:{node.lineno}: a text naming pickle or marshal")
            elif isinstance(node, ast.keyword) and node.arg in ("cache", "cache_grammar"):
                problems.append(f"{source.name}:{node.lineno}: Lark's cache option")
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NAME and token.string in _NEVER_IMPORTED:
                problems.append(f"{source.name}:{token.start[0]}: the name {token.string}")
    assert problems == []
    assert not list(PACKAGE.rglob("*.pkl")) and not list(PACKAGE.rglob("*.pickle"))


def test_the_shipped_parser_tables_are_those_of_the_grammar() -> None:
    shipped_name = f"policy_rules/language/{parser_tables.TABLES_FILE}"
    assert parser_tables.tables_are_current(), f"{shipped_name} was made from another grammar: run `{parser_tables.REGENERATE}`"
    shipped = (PACKAGE / "language" / parser_tables.TABLES_FILE).read_text(encoding="utf-8")
    assert shipped == parser_tables.tables_json(parser_tables.build_from_grammar(), grammar_text()), f"run `{parser_tables.REGENERATE}`"


def _shape(tree: Tree) -> list[tuple[object, ...]]:
    """Every subtree and token with its position, so trees that differ only in positions differ here."""
    shape: list[tuple[object, ...]] = []
    for sub in tree.iter_subtrees_topdown():
        meta = sub.meta
        where = () if meta.empty else (meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)
        shape.append((sub.data, len(sub.children), *where))
        shape += [(t.type, str(t), t.line, t.column, t.end_line, t.end_column) for t in sub.children if not isinstance(t, Tree)]
    return shape


def _outcome(parser: Lark, text: str) -> object:
    try:
        return _shape(parser.parse(text))
    except UnexpectedInput as error:
        expected = sorted(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
        return (type(error).__name__, error.line, error.column, expected)


BUNDLED = sorted([*(ROOT / "rules").rglob("*.rules"), *(ROOT / "tests" / "broken").glob("*.rules")])


def test_the_parser_from_the_tables_reads_every_bundled_file_as_the_grammar_does() -> None:
    assert len(BUNDLED) > 20
    from_tables = parser_tables.load_parser()
    from_grammar = parser_tables.build_from_grammar()
    assert from_tables.source_path == "<deserialized>"  # really loaded from the tables
    for path in BUNDLED:
        text = path.read_text(encoding="utf-8")
        assert _outcome(from_tables, text) == _outcome(from_grammar, text), path.name


def test_an_edited_grammar_gets_a_parser_built_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = grammar_text().replace("%ignore", "// a developer's edit\n%ignore", 1)
    assert edited != grammar_text()
    monkeypatch.setattr(parser_tables, "grammar_text", lambda: edited)
    monkeypatch.setattr(sys.modules["tempfile"], "tempdir", str(tmp_path))
    assert not parser_tables.tables_are_current()
    parser = parser_tables.load_parser()
    assert parser.source_path != "<deserialized>"
    assert _outcome(parser, (HARINGEY / "30-exceptions.rules").read_text(encoding="utf-8")) == _outcome(
        parser_tables.build_from_grammar(grammar_text()), (HARINGEY / "30-exceptions.rules").read_text(encoding="utf-8")
    )
    assert list(tmp_path.iterdir()) == []


def test_the_cache_is_bounded_in_bytes_the_oldest_entries_going_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLICY_RULES_CACHE", str(cache))
    monkeypatch.setenv("POLICY_RULES_CACHE_BYTES", "40000")
    for number in range(60):
        text = f'policy "P{number}"\n  outcome d\n\nfact f{number} is yes/no\n\ndecision d\n  outcomes a, b\n\nrule r\n  by default d is a\n'
        model, found = analyse({f"p{number}.rules": text}, "t")
        assert model is not None and not [d for d in found if d.severity == "error"]
        on_disk = sorted(cache.glob("??/*.json"), key=lambda p: p.stat().st_mtime)
        assert sum(p.stat().st_size for p in on_disk) <= 40000
    names = {json.loads(p.read_text(encoding="utf-8"))["ast"]["v"][0] for p in cache.glob("??/*.json")}
    assert f"p{59}.rules" in names and "p0.rules" not in names
    assert 10 < len(names) < 60


def test_text_checked_without_the_cache_never_reaches_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLICY_RULES_CACHE", str(cache))
    model, _found = analyse({"sent.rules": 'policy "Sent"\n  outcome d\n\ndecision d\n  outcomes a\n\nrule r\n  by default d is a\n'}, "t", cached=False)
    assert model is not None
    assert list(cache.glob("??/*.json")) == []
