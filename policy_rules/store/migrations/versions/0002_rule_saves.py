"""Rule saves: who saved rule files from the workbench, when, which files, and why; append-only by trigger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A save points at two kept rule sets (the rules before and after it), so the
register can show exactly what a save changed, and a decision recorded after
it points at the rules it was made with. As in 0001, the table is written out
here rather than imported, and every UPDATE and DELETE of its rows is refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REFUSAL = "the decision register is append-only: recorded rows cannot be changed or deleted"


def upgrade() -> None:
    op.create_table(
        "rule_saves",
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
    if op.get_bind().dialect.name == "postgresql":
        # policy_rules_append_only() was created by 0001.
        op.execute("CREATE TRIGGER rule_saves_append_only BEFORE UPDATE OR DELETE ON rule_saves FOR EACH ROW EXECUTE FUNCTION policy_rules_append_only()")
        op.execute("CREATE TRIGGER rule_saves_no_truncate BEFORE TRUNCATE ON rule_saves FOR EACH STATEMENT EXECUTE FUNCTION policy_rules_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER rule_saves_no_{action.lower()} BEFORE {action} ON rule_saves BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade() -> None:
    raise RuntimeError("the decision register is never downgraded: its records would be lost")
