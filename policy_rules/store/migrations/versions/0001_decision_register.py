"""The decision register: rule sets, decisions and overrides, append-only by trigger.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

The tables are written out here, not imported from ``tables.py``: a migration
is a record of the schema as it was, and must not change when the tables do.
The triggers refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of
the register's rows, whoever asks, so that the register stays an honest record.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("rule_sets", "decisions", "overrides")
REFUSAL = "the decision register is append-only: recorded rows cannot be changed or deleted"


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("policy_name", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("first_recorded_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("policy_name", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("rule_set", sa.String(80), sa.ForeignKey("rule_sets.id"), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decisions_recorded_at", "decisions", ["recorded_at"])
    op.create_index("ix_decisions_service", "decisions", ["service"])
    op.create_index("ix_decisions_outcome", "decisions", ["outcome"])
    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_overrides_decision_id", "overrides", ["decision_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"""CREATE FUNCTION policy_rules_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"""
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION policy_rules_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION policy_rules_append_only()")
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade() -> None:
    raise RuntimeError("the decision register is never downgraded: its records would be lost")
