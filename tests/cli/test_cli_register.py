"""``evaluate --record`` and the ``register`` commands, through the real command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from policy_rules.store import DecisionRegister
from tests.support.cli_helpers import run_cli
from tests.support.service_support import COMPLETE, database, write_rules

FACTS = """as_of: 2025-03-01
services:
  - {service: Libraries, cost: 120, budget: 100, risky: false, region: north}
  - {service: "=HYPERLINK(1)", cost: 10, budget: 100, risky: false, region: south}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def recorded(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    rules = write_rules(tmp_path)
    facts = tmp_path / "facts.yaml"
    facts.write_text(FACTS, encoding="utf-8")
    with database(request.param, tmp_path) as db:
        done = run_cli("evaluate", str(rules), str(facts), "--record", db, "--by", "Ann Officer", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1].startswith("2 decisions recorded in ") and done.stderr.splitlines()[-1].endswith("(ids 1 to 2) by Ann Officer")
        yield tmp_path, rules, db


def test_list_and_show(recorded) -> None:  # type: ignore[no-untyped-def]
    folder, _rules, db = recorded
    listed = run_cli("register", "list", "--db", db, "--format", "json", cwd=folder)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["service"], r["outcome"], r["recorded_by"], r["as_of"]) for r in rows] == [
        (2, "=HYPERLINK(1)", "in_house", "Ann Officer", "2025-03-01"),
        (1, "Libraries", "procure", "Ann Officer", "2025-03-01"),
    ]
    text = run_cli("register", "list", "--db", db, "--outcome", "procure", cwd=folder)
    assert len(text.stdout.splitlines()) == 1 and "Libraries: procure (as of 2025-03-01)" in text.stdout
    shown = run_cli("register", "show", "1", "--db", db, cwd=folder)
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[1:3] == ["  Service: Libraries", "  Outcome: procure (rule procure_when_too_dear)"]
    assert "    cost: 120" in shown.stdout
    full = json.loads(run_cli("register", "show", "2", "--db", db, "--format", "json", cwd=folder).stdout)
    assert full["facts"]["service"] == "=HYPERLINK(1)" and full["trace"] and full["overrides"] == []
    missing = run_cli("register", "show", "9", "--db", db, cwd=folder)
    assert missing.returncode == 2 and "the register has no decision 9" in missing.stderr


def test_replay_confirms_every_decision_even_after_the_rules_change(recorded) -> None:  # type: ignore[no-untyped-def]
    folder, rules, db = recorded
    (rules / "policy.rules").write_text((rules / "policy.rules").read_text().replace("then delivery is procure", "then delivery is partnership"))
    done = run_cli("register", "replay", "--db", db, cwd=folder)
    assert done.returncode == 0 and done.stderr.strip() == "2 replayed: 2 the same, 0 different"
    one = run_cli("register", "replay", "1", "--db", db, cwd=folder)
    assert one.stdout.strip() == "decision 1: same procure, same explanation"


def test_replay_exits_1_when_a_record_no_longer_matches(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    db = str(tmp_path / "r.db")
    facts = tmp_path / "facts.yaml"
    facts.write_text(FACTS, encoding="utf-8")
    assert run_cli("evaluate", str(rules), str(facts), "--record", db).returncode == 0
    # A record the register's own rules no longer give: written straight into SQLite, under the triggers' radar, by inserting a new row.
    register = DecisionRegister(db)
    with register.engine.begin() as connection:
        row = connection.execute(sa.text("SELECT * FROM decisions WHERE id = 1")).mappings().one()
        forged = dict(row) | {"id": 3, "decision": row["decision"].replace('"outcome":"procure"', '"outcome":"in_house"', 1)}
        connection.execute(sa.text(f"INSERT INTO decisions ({', '.join(forged)}) VALUES ({', '.join(':' + k for k in forged)})"), forged)
    register.close()
    done = run_cli("register", "replay", "--db", db)
    assert done.returncode == 1
    assert done.stdout.strip() == "decision 3: DIFFERENT now in outcome"


def test_export_csv_and_json_lines(recorded) -> None:  # type: ignore[no-untyped-def]
    folder, _rules, db = recorded
    out = folder / "decisions.csv"
    done = run_cli("register", "export", "--db", db, "--output", str(out), cwd=folder)
    assert done.returncode == 0 and done.stderr.strip() == f"2 decisions exported to {out}"
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["id"], r["service"], r["outcome"]) for r in rows] == [("1", "Libraries", "procure"), ("2", "'=HYPERLINK(1)", "in_house")]
    assert json.loads(rows[0]["facts"]) == {"service": "Libraries", "cost": 120, "budget": 100, "risky": False, "region": "north"}
    lines = folder / "decisions.jsonl"
    assert run_cli("register", "export", "--db", db, "--output", str(lines), cwd=folder).returncode == 0
    records = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [1, 2] and records[0]["trace"]


def test_register_mistakes_are_user_errors(tmp_path: Path) -> None:
    absent = run_cli("register", "list", "--db", str(tmp_path / "none.db"))
    assert absent.returncode == 2 and "there is no decision register here" in absent.stderr
    assert not (tmp_path / "none.db").exists()
    db = tmp_path / "r.db"
    DecisionRegister(str(db)).close()
    wrong = run_cli("register", "export", "--db", str(db), "--output", str(tmp_path / "out.xlsx"))
    assert wrong.returncode == 2 and "use .csv or .jsonl" in wrong.stderr
    again = run_cli("register", "export", "--db", str(db), "--output", str(db.with_suffix(".csv")))
    assert again.returncode == 0
    link = tmp_path / "same.csv"
    link.symlink_to(db)
    onto = run_cli("register", "export", "--db", str(db), "--output", str(link))
    assert onto.returncode == 2 and "would destroy it" in onto.stderr
    assert run_cli("register", "list", "--db", "mysql://x/y").stderr.startswith("--db: error: a register is a file path or a postgresql:// URL")
    assert run_cli("register", "show", "0").returncode == 2


def test_record_goes_without_output_and_by_with_record(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(COMPLETE), encoding="utf-8")
    both = run_cli("evaluate", str(rules), str(facts), "--record", str(tmp_path / "r.db"), "--output", str(tmp_path / "o.csv"))
    assert both.returncode == 2 and "--record" in both.stderr
    alone = run_cli("evaluate", str(rules), str(facts), "--by", "x")
    assert alone.returncode == 2 and "--by" in alone.stderr
    default = run_cli("evaluate", str(rules), str(facts), "--record", str(tmp_path / "r.db"))
    assert default.returncode == 0 and " by cli:" in default.stderr
