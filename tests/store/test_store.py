"""The decision register on SQLite and PostgreSQL: records, overrides, listings, replay, and the refusal to change a record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules.api import Policy, load_policy, policy_from_sources
from policy_rules.errors import PolicyError, UsageError
from policy_rules.store import DecisionRegister, database_url
from policy_rules.store.register import compact, time_text, trace_digest
from tests.support.service_support import COMPLETE, RULES, database, write_rules

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def register(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DecisionRegister]:
    with database(request.param, tmp_path) as where, DecisionRegister(where) as opened:
        yield opened


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return load_policy(write_rules(tmp_path))


def test_a_recorded_decision_reads_back_exactly_with_its_facts_and_who(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    decision = policy.evaluate(COMPLETE, "2025-03-01")
    recorded = register.record(rule_set, decision, COMPLETE, "alice")
    found = register.get(recorded.id)
    assert found is not None
    whole = json.loads(json.dumps(decision.to_dict()))
    assert found.decision == compact(whole)
    assert found.facts == COMPLETE
    assert (found.recorded_by, found.rule_set, found.overrides) == ("alice", rule_set, ())
    assert found.to_dict()["id"] == recorded.id and found.to_dict()["outcome"] == "procure"
    assert register.explained(found).decision == whole | {"trace_replayed": "same"}
    assert register.replay(found).same
    assert register.get(recorded.id + 1) is None


def test_the_register_keeps_a_compact_trace_with_the_digest_of_the_whole(register: DecisionRegister, policy: Policy) -> None:
    facts = {**COMPLETE, "parts": [{"name": "Vans", "specialist": True}, {"name": "Lifts"}]}
    whole = json.loads(json.dumps(policy.evaluate(facts, "2025-03-01").to_dict()))
    kept = compact(whole)
    assert {k: v for k, v in kept.items() if k not in ("trace", "trace_kept")} == {k: v for k, v in whole.items() if k not in ("trace", "questions")}
    assert kept["trace_kept"] == {"form": "compact", "digest": trace_digest(whole)}
    assert kept["trace"] == [
        {"type": "facts", "as_of": "2025-03-01"},
        {"type": "decision", "decision": "delivery", "item": None, "value": "procure", "decided_by": "procure_when_too_dear"},
        {"type": "decision", "decision": "urgency", "item": None, "value": "high", "decided_by": "high_in_the_north"},
        {"type": "needed_facts", "exact": True},
    ]
    assert trace_digest(whole | {"questions": []}) != trace_digest(whole)


def test_a_record_whose_explanation_the_engine_now_gives_otherwise_says_so(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    made = register.prepare(json.loads(json.dumps(policy.evaluate(COMPLETE, "2025-03-01").to_dict())), COMPLETE)
    tampered = made.decision | {"trace_kept": {"form": "compact", "digest": "sha256:" + "0" * 64}}
    (recorded,) = register.record_prepared(rule_set, [attrs.evolve(made, decision=tampered, decision_text=json.dumps(tampered))], "alice")
    found = register.get(recorded.id)
    assert found is not None
    assert register.explained(found).decision["trace_replayed"] == "different"
    assert register.replay(found).differences == ("trace_kept",)


def test_an_older_record_with_its_whole_trace_is_shown_and_replayed_as_it_is(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    whole = json.loads(json.dumps(policy.evaluate(COMPLETE, "2025-03-01").to_dict()))
    made = register.prepare(whole, COMPLETE)
    (recorded,) = register.record_prepared(rule_set, [attrs.evolve(made, decision=whole, decision_text=json.dumps(whole))], "alice")
    found = register.get(recorded.id)
    assert found is not None and found.decision == whole
    assert register.explained(found) == found
    assert register.replay(found).same


def test_rule_files_are_kept_once_per_set_of_files(register: DecisionRegister, policy: Policy, tmp_path: Path) -> None:
    first = register.keep_rules(policy)
    assert register.keep_rules(load_policy(tmp_path / "rules")) == first
    other = policy_from_sources({"elsewhere/policy.rules": RULES.replace('version "7"', 'version "8"')}, "t")
    assert register.keep_rules(other) != first
    with register.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM rule_sets")).scalar_one() == 2


def test_the_database_refuses_to_change_or_delete_any_record(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    recorded = register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")
    register.override(recorded.id, "in_house", "kept in-house at extra cost", "Ann Officer", "alice")
    register.record_save(rule_set, rule_set, ["policy.rules"], "a comment reworded", "Ann Officer", "alice")
    for statement in (
        "UPDATE decisions SET outcome = 'in_house'",
        "DELETE FROM decisions",
        "UPDATE overrides SET reason = 'x'",
        "DELETE FROM overrides",
        "UPDATE rule_sets SET files = '{}'",
        "DELETE FROM rule_sets",
        "UPDATE rule_saves SET reason = 'x'",
        "DELETE FROM rule_saves",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), register.engine.begin() as connection:
            connection.execute(sa.text(statement))
    if register.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), register.engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE overrides"))
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), register.engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE rule_saves"))
    found = register.get(recorded.id)
    assert found is not None and found.decision["outcome"] == "procure" and len(found.overrides) == 1


def test_an_override_is_a_record_of_its_own_and_the_decision_is_unchanged(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    recorded = register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")
    first = register.override(recorded.id, "in_house", "brought in-house at extra cost", "Ann Officer", "bob")
    second = register.override(recorded.id, "partnership", "the NHS offered to share it", "Cal Officer", "bob")
    assert first is not None and second is not None
    found = register.get(recorded.id)
    assert found is not None
    assert [(o.outcome, o.decided_by, o.recorded_by) for o in found.overrides] == [("in_house", "Ann Officer", "bob"), ("partnership", "Cal Officer", "bob")]
    assert found.decision == recorded.decision
    assert found.summary()["overridden_to"] == "partnership"
    assert register.override(recorded.id + 100, "in_house", "r", "x", "bob") is None


def test_listing_is_newest_first_and_filters(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    made = []
    for name, cost in (("A", 50), ("B", 150), ("A", 200), ("C", 10)):
        facts = {**COMPLETE, "service": name, "cost": cost}
        made.append(register.record(rule_set, policy.evaluate(facts, "2025-03-01"), facts, "alice").id)
    assert [d.id for d in register.list()] == made[::-1]
    assert [d.id for d in register.list(service="A")] == [made[2], made[0]]
    assert [d.id for d in register.list(outcome="procure")] == [made[2], made[1]]
    assert [d.id for d in register.list(limit=2)] == [made[3], made[2]]
    assert [d.id for d in register.list(before=made[2])] == [made[1], made[0]]
    assert [d.id for d in register.list(since="2000-01-01")] == made[::-1]
    assert register.list(since="2999-01-01") == []
    assert [d.id for d in register.all(batch=3)] == made
    assert register.count() == 4
    with pytest.raises(PolicyError, match="not a date or a time"):
        register.list(since="yesterday")


def test_record_many_keeps_all_in_one_transaction(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    facts = [{**COMPLETE, "service": f"S{i}"} for i in range(5)]
    recorded = register.record_many(rule_set, [(policy.evaluate(f, "2025-03-01"), f) for f in facts], "cli:test")
    assert [r.decision["service"] for r in recorded] == [f"S{i}" for i in range(5)]
    assert len({r.recorded_at for r in recorded}) == 1
    assert register.count() == 5


def test_replay_decides_again_with_the_recorded_rules_not_todays(register: DecisionRegister, policy: Policy, tmp_path: Path) -> None:
    rule_set = register.keep_rules(policy)
    recorded = register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")
    (tmp_path / "rules" / "policy.rules").write_text(RULES.replace("when cost is more than budget", "when cost is more than budget * 2"), encoding="utf-8")
    fresh = DecisionRegister(register.url)  # no policy cached: the rules come from the database
    replay = fresh.replay(fresh.get(recorded.id))  # type: ignore[arg-type]
    fresh.close()
    assert replay.same and replay.differences == () and replay.now["outcome"] == "procure"
    assert load_policy(tmp_path / "rules").evaluate(COMPLETE, "2025-03-01").outcome == "in_house"


def test_replay_names_what_differs_when_a_record_does_not_match(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    recorded = register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")
    tampered = type(recorded)(recorded.id, recorded.recorded_at, "alice", rule_set, recorded.facts, {**recorded.decision, "outcome": "in_house"})
    replay = register.replay(tampered)
    assert not replay.same and replay.differences == ("outcome",)


def test_opening_again_keeps_every_record_and_the_schema_version(register: DecisionRegister, policy: Policy) -> None:
    rule_set = register.keep_rules(policy)
    register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")
    with DecisionRegister(register.url) as again:
        assert again.count() == 1
        with again.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"


def test_a_register_written_before_rule_saves_is_upgraded_with_its_records(tmp_path: Path, policy: Policy) -> None:
    from alembic import command
    from alembic.config import Config

    import policy_rules.store.register as store

    where = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{where}")
    config = Config()
    config.set_main_option("script_location", str(Path(store.__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(sa.text("INSERT INTO rule_sets VALUES ('k', 'd', 'n', '1', '{}', '2026-01-01T00:00:00.000000Z')"))
    engine.dispose()
    with DecisionRegister(str(where)) as opened:
        assert opened.rule_files("k") == {}
        assert opened.saves() == []
        with opened.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    facts=st.fixed_dictionaries(
        {"service": st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s and s.strip())},
        optional={
            "cost": st.integers(0, 10**9),
            "budget": st.integers(0, 10**9),
            "risky": st.booleans(),
            "region": st.sampled_from(["north", "south"]),
            "parts": st.lists(st.fixed_dictionaries({"name": st.text(max_size=10).filter(lambda s: "\x00" not in s), "specialist": st.booleans()}), max_size=3),
        },
    )
)
def test_any_recorded_decision_replays_to_the_same_result(tmp_path: Path, facts: dict) -> None:
    policy = policy_from_sources({"r/policy.rules": RULES}, "t")
    with DecisionRegister(str(tmp_path / "property.db")) as register:
        recorded = register.record(register.keep_rules(policy), policy.evaluate(facts, "2025-03-01"), facts, "alice")
        replay = register.replay(register.get(recorded.id))  # type: ignore[arg-type]
    assert replay.same, replay.differences


def test_database_urls(tmp_path: Path) -> None:
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url(None).endswith("/policy-rules.db")
    with pytest.raises(UsageError, match="not `mysql://`"):
        database_url("mysql://u@h/db")
    with pytest.raises(UsageError, match="folder"):
        database_url(str(tmp_path))


def test_a_file_that_is_not_a_register_is_reported_not_raised(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(PolicyError, match="decision register"):
        DecisionRegister(str(junk))


def test_times_given_by_users_are_read_in_utc() -> None:
    assert time_text("2026-01-02") == "2026-01-02T00:00:00.000000Z"
    assert time_text("2026-01-02T10:00:00+01:00") == "2026-01-02T09:00:00.000000Z"


def test_a_record_whose_rules_no_longer_evaluate_is_shown_as_kept(register: DecisionRegister, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    rule_set = register.keep_rules(policy)
    recorded = register.record(rule_set, policy.evaluate(COMPLETE, "2025-03-01"), COMPLETE, "alice")

    def unreadable(_rule_set: str) -> Policy:
        raise PolicyError("these rules no longer load", "rules")

    monkeypatch.setattr(register, "policy_of", unreadable)
    shown = register.explained(recorded).decision
    assert shown["trace_replayed"] == "unavailable" and shown["outcome"] == "procure" and "trace_kept" not in shown
    assert shown["trace"] == recorded.decision["trace"] and shown["questions"] == []
