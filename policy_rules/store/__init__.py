"""The decision register: every recorded decision, its facts, its rules' text and its overrides, kept for good.

Place in the architecture: beside ``registers/`` (facts files and register
runs), after the engine. The service (``policy_rules.service``) and the
``register`` and ``evaluate --record`` commands write and read decisions here
(and the workbench records who saved rule files),
through one database layer (SQLAlchemy Core) on SQLite or PostgreSQL, with the
schema made and changed by the Alembic migrations shipped in
``store/migrations``. Records are append-only: nothing here updates or deletes
one, and triggers in the database refuse it to anyone else.
"""

from policy_rules.store.register import DecisionRegister, Override, RecordedDecision, Replay, RuleSave, database_url

__all__ = ["DecisionRegister", "Override", "RecordedDecision", "Replay", "RuleSave", "database_url"]
