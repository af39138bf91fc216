"""The register's tables, as SQLAlchemy Core describes them (the migrations make them in the database).

Times are text in one fixed-width UTC form (``2026-12-01T17:30:00.123456Z``),
so that they sort and compare the same way on SQLite and PostgreSQL. Facts and
decisions are JSON text, stored exactly as they were serialised when
recorded: a replay compares against those very bytes' meaning, not against a
database's reading of JSON.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: The rule files of a policy, once per set of files (their paths and text): what a replay decides with.
rule_sets = sa.Table(
    "rule_sets",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("policy_digest", sa.String(80), nullable=False),
    sa.Column("policy_name", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("first_recorded_at", sa.String(32), nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.String(32), nullable=False, index=True),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=True, index=True),
    sa.Column("outcome", sa.Text, nullable=False, index=True),
    sa.Column("policy_name", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("policy_digest", sa.String(80), nullable=False),
    sa.Column("rule_set", sa.String(80), sa.ForeignKey("rule_sets.id"), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)

overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sqlite_autoincrement=True,
)

#: Rule files saved from the workbench: who saved them (the officer named, and the token's holder), why, which files, and the rules before and after.
rule_saves = sa.Table(
    "rule_saves",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("saved_at", sa.String(32), nullable=False),
    sa.Column("saved_by", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("previous_rule_set", sa.String(80), sa.ForeignKey("rule_sets.id"), nullable=False),
    sa.Column("rule_set", sa.String(80), sa.ForeignKey("rule_sets.id"), nullable=False),
    sqlite_autoincrement=True,
)

APPEND_ONLY = ("rule_sets", "decisions", "overrides", "rule_saves")
