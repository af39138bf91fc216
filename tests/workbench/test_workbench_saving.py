"""Saving draft rules from the workbench: refused unless the server allows editing, checked, never blind, recorded with who saved.

Through the application's routes (no browser): the browser test of the whole
loop is in ``test_workbench_browser``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules.api import load_policy
from policy_rules.errors import PolicyError
from policy_rules.service.app import create_app
from policy_rules.service.guard import Settings
from policy_rules.store import DecisionRegister
from policy_rules.workbench.saving import RuleFiles, check_paths
from tests.support.cli_helpers import run_cli
from tests.support.workbench_support import CHANGED, REGISTER, RULES, write_policy

#: Parks costs 230 of a 200 budget: bought in (locally) by RULES, in-house by CHANGED (up to 120% of budget).
PARKS = {"service": "Parks", "cost": 230, "budget": 200, "local": "yes"}
TOKEN = "alice-token-0123456789"


class Workbench:
    """A service on a policy folder of its own, with its register, and the client of its routes."""

    def __init__(self, folder: Path, client: TestClient, register: DecisionRegister) -> None:
        self.folder, self.client, self.register = folder, client, register
        self.file = folder / "rules" / "policy.rules"
        self.name = str(self.file)

    def draft(self, text: str) -> dict[str, str]:
        return {self.name: text}

    def base(self) -> str:
        return str(self.client.get("/workbench/rules").json()["policy"]["digest"])

    def save(self, text: str, base: str | None = None, headers: dict[str, str] | None = None, **extra: object) -> Any:
        body = {"files": self.draft(text), "base": base or self.base(), "reason": "budgets may run 20% over", "by": "A. Officer", **extra}
        return self.post(body, headers)

    def post(self, body: dict[str, object], headers: dict[str, str] | None = None) -> Any:
        """POST /workbench/save with ``body`` as JSON text (ASCII, so that an unpaired surrogate travels as ``\\ud800``, as a browser may send it)."""
        return self.client.post("/workbench/save", content=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})

    def outcome(self) -> str:
        return str(self.client.post("/v1/evaluate", json={"facts": PARKS, "as_of": "2025-01-01"}).json()["outcome"])


def _workbench(tmp_path: Path, editing: bool, settings: Settings | None = None) -> Iterator[Workbench]:
    rules = write_policy(tmp_path / "rules")
    policy = load_policy(rules)
    files = RuleFiles((str(rules),)) if editing else None
    with (
        DecisionRegister(str(tmp_path / "register.db")) as register,
        TestClient(create_app(policy, register, settings, editing=files), base_url="http://127.0.0.1") as client,
    ):
        yield Workbench(tmp_path, client, register)


@pytest.fixture
def editable(tmp_path: Path) -> Iterator[Workbench]:
    yield from _workbench(tmp_path, editing=True)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Workbench]:
    yield from _workbench(tmp_path, editing=False)


def test_without_allow_editing_nothing_is_saved(read_only: Workbench) -> None:
    assert read_only.client.get("/workbench/rules").json()["editing"] is False
    refused = read_only.save(CHANGED)
    assert refused.status_code == 403
    assert "--allow-editing" in refused.json()["error"]["message"]
    assert read_only.file.read_text(encoding="utf-8") == RULES
    assert read_only.outcome() == "procure_local"
    assert read_only.register.saves() == []


def test_a_save_writes_the_files_serves_them_and_records_who_saved_and_the_rules_before_and_after(editable: Workbench) -> None:
    assert editable.client.get("/workbench/rules").json()["editing"] is True
    before = editable.base()
    assert editable.outcome() == "procure_local"
    saved = editable.save(CHANGED, before)
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert editable.file.read_text(encoding="utf-8") == CHANGED
    assert body["policy"]["digest"] == editable.base() != before
    assert editable.client.get("/healthz").json()["policy"]["digest"] == body["policy"]["digest"]
    assert editable.outcome() == "in_house"
    assert [(s["by"], s["recorded_by"], s["files"], s["reason"]) for s in editable.client.get("/workbench/saves").json()["saves"]] == [
        ("A. Officer", "local", [editable.name], "budgets may run 20% over")
    ]
    shown = editable.client.get("/workbench/saves/1").json()
    assert shown["save"]["reason"] == "budgets may run 20% over"
    assert [line for line in shown["diff"] if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-  cost is at most budget",
        "+  cost is at most budget * 120%",
    ]
    assert editable.client.get("/workbench/saves/2").status_code == 404
    (made,) = editable.register.saves()
    assert editable.register.rule_files(made.previous_rule_set) == {editable.name: RULES}
    assert editable.register.rule_files(made.rule_set) == {editable.name: CHANGED}
    recorded = editable.client.post("/v1/decisions", json={"facts": PARKS, "as_of": "2025-01-01"}).json()
    found = editable.register.get(recorded["id"])
    assert found is not None and found.rule_set == made.rule_set and found.decision["outcome"] == "in_house"
    assert editable.client.get("/v1/policy").json()["policy"]["digest"] == body["policy"]["digest"]


def test_a_draft_made_from_rules_saved_since_is_refused(editable: Workbench) -> None:
    stale = editable.base()
    assert editable.save(CHANGED, stale).status_code == 201
    again = editable.save(RULES.replace("budget * 120%", "budget"), stale)
    assert again.status_code == 409 and again.json()["error"]["location"] == "base"
    assert "saved by someone else" in again.json()["error"]["message"]
    assert editable.file.read_text(encoding="utf-8") == CHANGED
    assert len(editable.register.saves()) == 1


def test_a_file_changed_on_disk_since_the_server_read_it_is_never_overwritten(editable: Workbench) -> None:
    outside = RULES + "\n# edited in a text editor\n"
    editable.file.write_text(outside, encoding="utf-8")
    refused = editable.save(CHANGED)
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "message": f"{editable.name} was changed on disk after the server read the rules, so nothing was saved: the save would overwrite that change "
        "unseen. Choose Take up the files on disk to see what changed there and decide with those files; your draft stays in the editor",
        "location": editable.name,
        "changed_on_disk": True,
    }
    assert editable.file.read_text(encoding="utf-8") == outside
    (editable.file.parent / "more.rules").write_text("# new\n", encoding="utf-8")
    editable.file.write_text(RULES, encoding="utf-8")
    added = editable.save(CHANGED)
    assert added.status_code == 409 and "more.rules was added on disk" in added.json()["error"]["message"]
    assert editable.register.saves() == []


def test_files_changed_on_disk_are_taken_up_with_what_changed_and_then_a_draft_of_them_saves(editable: Workbench) -> None:
    outside = RULES + "\n# edited in a text editor\n"
    editable.file.write_text(outside, encoding="utf-8")
    before = editable.base()
    assert editable.save(CHANGED).json()["error"]["changed_on_disk"] is True
    taken = editable.client.post("/workbench/take-up")
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert body["files"] == {editable.name: outside}
    assert [line for line in body["diff"] if line[:1] in "+-" and line[:3] not in ("+++", "---")] == ["+", "+# edited in a text editor"]
    assert body["policy"]["digest"] == editable.base() != before
    assert editable.client.get("/workbench/rules").json()["files"] == {editable.name: outside}
    draft = outside.replace("cost is at most budget", "cost is at most budget * 120%")
    saved = editable.save(draft, body["policy"]["digest"])
    assert saved.status_code == 201, saved.text
    assert editable.file.read_text(encoding="utf-8") == draft
    assert editable.client.post("/workbench/take-up").json()["diff"] == []  # nothing changed on disk since


def test_files_on_disk_with_errors_are_not_taken_up(editable: Workbench, read_only: Workbench) -> None:
    before = editable.base()
    editable.file.write_text("rule\n", encoding="utf-8")
    refused = editable.client.post("/workbench/take-up")
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith(
        "the rule files on disk have errors, so the server keeps the rules it has; fix them on disk first ("
    )
    assert editable.base() == before and editable.outcome() == "procure_local"
    assert read_only.client.post("/workbench/take-up").status_code == 403


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        ({"NAME": "rule"}, 422, "the draft rules have errors; fix the problems first"),
        ({"NAME": RULES}, 422, "the draft is the same as the saved rules; there is nothing to save"),
        ({"NAME": CHANGED, "../../elsewhere.rules": "# x"}, 422, "../../elsewhere.rules is not one of this policy's rule files"),
        ({}, 422, "the draft leaves out NAME; send every rule file of the policy"),
        ({"NAME": CHANGED + "\x00"}, 422, "this one holds a NUL character"),
        ({"NAME": CHANGED + "\ud800"}, 422, "or an unpaired surrogate"),
    ],
)
def test_a_draft_that_cannot_be_saved_writes_nothing(editable: Workbench, files: dict[str, str], status: int, words: str) -> None:
    draft = {editable.name if k == "NAME" else k: v for k, v in files.items()}
    refused = editable.post({"files": draft, "base": editable.base(), "reason": "r", "by": "A. Officer"})
    assert refused.status_code == status
    assert words.replace("NAME", editable.name) in refused.json()["error"]["message"]
    assert editable.file.read_text(encoding="utf-8") == RULES
    assert not (editable.folder / "elsewhere.rules").exists()
    assert editable.register.saves() == []
    assert editable.outcome() == "procure_local"


def test_a_save_needs_a_reason_and_a_name(editable: Workbench) -> None:
    for field in ("reason", "by"):
        for bad in ("   ", "x\x00", "x\udfff"):
            refused = editable.save(CHANGED, **{field: bad})
            assert refused.status_code == 422 and refused.json()["error"]["location"] == field
    assert editable.file.read_text(encoding="utf-8") == RULES


def test_with_tokens_a_save_needs_one_and_records_its_holder(tmp_path: Path) -> None:
    for editable in _workbench(tmp_path, editing=True, settings=Settings(tokens={TOKEN: "alice"})):
        assert editable.save(CHANGED).status_code == 401
        assert editable.client.get("/workbench/saves").status_code == 401
        assert editable.client.get("/workbench/saves/1").status_code == 401
        assert editable.file.read_text(encoding="utf-8") == RULES
        saved = editable.save(CHANGED, headers={"Authorization": f"Bearer {TOKEN}"})
        assert saved.status_code == 201 and saved.json()["save"]["recorded_by"] == "alice"


def test_the_register_command_lists_saves_and_shows_what_one_changed(editable: Workbench) -> None:
    assert editable.save(CHANGED).status_code == 201
    db = str(editable.folder / "register.db")
    listed = run_cli("register", "saves", "--db", db)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert line.strip().split("  ", 2)[2] == f"A. Officer (token local)  {editable.name}: budgets may run 20% over"
    assert listed.stderr.strip() == "1 save, newest first"
    shown = run_cli("register", "saves", "1", "--db", db)
    assert shown.returncode == 0
    assert "-  cost is at most budget\n+  cost is at most budget * 120%" in shown.stdout
    assert f"--- a/{editable.name.lstrip('/')}\n+++ b/{editable.name.lstrip('/')}\n" in shown.stdout
    missing = run_cli("register", "saves", "7", "--db", db)
    assert missing.returncode == 2 and "the register has no rule save 7" in missing.stderr


def test_allow_editing_refuses_rule_files_this_user_cannot_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    rules = write_policy(tmp_path / "rules")
    assert check_paths([str(rules)]).paths == (str(rules),)
    real_access = os.access
    # The tests may run as root, who may write any file: the server asks the system, so the system's answer is what is replaced here.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path).name != "policy.rules" and real_access(path, mode))
    with pytest.raises(PolicyError, match=r"--allow-editing needs to write the rule files, .* cannot be written by this user: .*policy.rules"):
        check_paths([str(rules)])


def test_two_saves_from_the_same_rules_at_once_keep_one_and_refuse_the_other(tmp_path: Path) -> None:
    import threading

    from policy_rules.service.served import ServedPolicy
    from policy_rules.workbench.saving import SaveRefused, save

    rules = write_policy(tmp_path / "rules")
    name = str(rules / "policy.rules")
    drafts = {"A. Officer": CHANGED, "B. Officer": RULES.replace("cost is at most budget", "cost is at most budget * 110%")}
    with DecisionRegister(str(tmp_path / "register.db")) as register:
        served = ServedPolicy(load_policy(rules), register)
        base = served.current.policy.info.digest
        start = threading.Barrier(len(drafts))
        results: dict[str, object] = {}

        def officer(who: str) -> None:
            start.wait()
            try:
                results[who] = save(served, RuleFiles((str(rules),)), {name: drafts[who]}, base, "why", who, "local")
            except SaveRefused as refused:
                results[who] = refused.status

        threads = [threading.Thread(target=officer, args=(who,)) for who in drafts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2, results
        (winner,) = [who for who, result in results.items() if result != 409]
        assert sorted(map(str, results.values())).count("409") == 1
        assert (rules / "policy.rules").read_text(encoding="utf-8") == drafts[winner]
        assert [s.saved_by for s in register.saves()] == [winner]
        assert served.current.policy.model.sources == {name: drafts[winner]}


TEXT = st.text(max_size=30)
RULE_TEXTS = st.sampled_from([RULES, CHANGED, "rule", RULES.replace("then delivery is procure\n", "then delivery is\n")]) | TEXT
FILES = st.dictionaries(st.sampled_from(["NAME", "other.rules", "../up.rules", ""]), RULE_TEXTS, max_size=2)
FACTS_NAMES = st.sampled_from(["r.csv", "r.yaml", "r.json", "r.jsonl", "r.exe", ""]) | TEXT
FACTS_TEXTS = st.sampled_from([REGISTER, "service: A\ncost: 1\n", "services: 3\n", "[1, 2", "service,cost\n", "- {service: A}\n"]) | TEXT
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
DATES = st.sampled_from(["2025-01-01", "2025-02-30", "0000-01-01", "9999-12-31"]) | TEXT
BODIES = {
    "/workbench/save": st.fixed_dictionaries({"files": FILES, "base": TEXT, "reason": TEXT, "by": TEXT}),
    "/workbench/impact": st.fixed_dictionaries(
        {"files": FILES}, optional={"register_name": FACTS_NAMES, "register_text": FACTS_TEXTS, "example": TEXT, "as_of": DATES}
    ),
    "/workbench/format": st.fixed_dictionaries({"name": st.sampled_from(["policy.rules", "x"]) | TEXT, "text": RULE_TEXTS}),
    "/workbench/facts": st.fixed_dictionaries({"name": FACTS_NAMES, "text": FACTS_TEXTS}),
    "/workbench/report": st.fixed_dictionaries(
        {"facts": st.dictionaries(st.sampled_from(["service", "cost", "budget", "local", "other"]), SCALARS, max_size=4)}, optional={"as_of": DATES}
    ),
}


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), route=st.sampled_from(sorted(BODIES)))
def test_no_body_makes_a_workbench_route_fail_inside_or_write_a_file(editable: Workbench, data: st.DataObject, route: str) -> None:
    """Well-typed bodies with any content: no route fails inside, and nothing saves without the digest of the served rules (never guessed here)."""
    body = data.draw(BODIES[route])
    if "files" in body:
        body["files"] = {editable.name if k == "NAME" else k: v for k, v in body["files"].items()}
    answer = editable.client.post(route, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) == {"message", "location"}
    assert editable.file.read_text(encoding="utf-8") == RULES


def test_a_batch_is_decided_by_one_policy_even_when_a_save_lands_during_it(editable: Workbench) -> None:
    from policy_rules.service.served import Current

    served = editable.client.app.state.served  # type: ignore[attr-defined]
    before = served.current
    changed = load_policy(write_policy(editable.folder / "changed", CHANGED))

    class SaveLandsAfterTheFirstDecision:
        """The served policy, except that its first decision is followed by a save of CHANGED (as a thread saving at that moment would)."""

        def __init__(self) -> None:
            self.calls = 0

        def evaluate(self, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                served.replace(changed)
            return before.policy.evaluate(*args, **kwargs)

    served.current = Current(SaveLandsAfterTheFirstDecision(), before.rule_set, before.described)  # type: ignore[arg-type]
    answer = editable.client.post("/v1/evaluate/batch", json={"services": [PARKS] * 3, "as_of": "2025-01-01"})
    assert [r["decision"]["outcome"] for r in answer.json()["results"]] == ["procure_local"] * 3
    assert editable.outcome() == "in_house"  # the next request is decided by the rules saved


@pytest.mark.parametrize("failing", ["reading back", "recording"])
def test_a_save_that_cannot_be_served_or_recorded_puts_the_files_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    from policy_rules.service.served import ServedPolicy
    from policy_rules.workbench.saving import SaveRefused, save

    rules = write_policy(tmp_path / "rules")
    name = str(rules / "policy.rules")
    with DecisionRegister(str(tmp_path / "register.db")) as register:
        served = ServedPolicy(load_policy(rules), register)
        before = served.current
        if failing == "reading back":
            reads = iter([RuleFiles.read, lambda self: (_ for _ in ()).throw(PolicyError("the file went away", name))])
            monkeypatch.setattr(RuleFiles, "read", lambda self: next(reads)(self))  # the check before writing reads, then the read back fails
            with pytest.raises(SaveRefused, match=r"did not load .*the file went away.*; they were put back as they were"):
                save(served, RuleFiles((str(rules),)), {name: CHANGED}, before.policy.info.digest, "why", "A. Officer", "local")
        else:
            monkeypatch.setattr(register, "record_save", lambda *args: (_ for _ in ()).throw(RuntimeError("the database went away")))
            with pytest.raises(RuntimeError, match="the database went away"):
                save(served, RuleFiles((str(rules),)), {name: CHANGED}, before.policy.info.digest, "why", "A. Officer", "local")
        assert (rules / "policy.rules").read_text(encoding="utf-8") == RULES
        assert served.current is before
        assert register.saves() == []
        assert not list(rules.glob(".*.part"))
