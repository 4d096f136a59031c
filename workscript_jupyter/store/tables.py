"""The schema (DESIGN.md §3), as SQLAlchemy Core tables. Alembic migrations are made from it.

Portable on MySQL/MariaDB and SQLite: every string is sized (MySQL needs lengths), times are
``UtcDateTime`` (DATETIME(6) on MySQL, microseconds kept, always returned timezone-aware UTC),
JSON columns, ids are 32-character hex strings (``records.new_id``). Tables are created utf8mb4
on MySQL. One table holds every run (``workflow_executions``): an automation's runs carry its
``automation_id``, so there is no separate ``automation_executions`` table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

__all__ = ["ID_LENGTH", "UtcDateTime", "metadata"]

ID_LENGTH = 32
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)
MYSQL: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
    "mysql_engine": "InnoDB",
}

# LONGTEXT-sized JSON and text on MySQL: a state or a notebook can exceed 64 KB
BigJSON = JSON().with_variant(mysql.JSON(), "mysql", "mariadb")
BigText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
BigBinary = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# a resource path is case-sensitive everywhere: binary collation on MySQL, as SQLite compares
PathString = String(512).with_variant(
    mysql.VARCHAR(512, collation="utf8mb4_bin"), "mysql", "mariadb"
)


SESSION_ID_LENGTH = 64
COUNTER_KEY_LENGTH = 191  # utf8mb4 on MySQL: 191 x 4 bytes fits an index key of 767 bytes
CounterKey = String(COUNTER_KEY_LENGTH).with_variant(
    mysql.VARCHAR(COUNTER_KEY_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb"
)


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant with microseconds, stored naive (UTC) and returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes UTC-aware times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _id(**kwargs: Any) -> Column[str]:
    return Column("id", String(ID_LENGTH), primary_key=True, **kwargs)


def _owner() -> Column[str]:
    return Column(
        "owner_id", String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )


def _times() -> list[Column[Any]]:
    return [
        Column("created_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    ]


users = Table(
    "users",
    metadata,
    _id(),
    Column("username", String(150), nullable=False),
    Column("username_key", String(150), nullable=False, unique=True),  # lower-cased
    Column("email", String(320)),
    Column("email_key", String(320), unique=True),  # lower-cased; NULLs do not collide
    Column("display_name", String(200)),
    Column("password_hash", String(255)),
    Column("roles", JSON, nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("source", String(20), nullable=False),
    Column("external_id", String(255)),
    *_times(),
    Column("last_login_at", UtcDateTime()),
    Column("permissions", JSON),  # extra permission strings; NULL (rows before 0004): none
    UniqueConstraint("source", "external_id"),
    **MYSQL,
)

sessions = Table(
    "sessions",
    metadata,
    _id(),
    Column(
        "user_id",
        String(ID_LENGTH),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("last_seen_at", UtcDateTime()),
    Column("user_agent", String(512)),
    Column("ip", String(64)),
    Column("revoked_at", UtcDateTime()),
    **MYSQL,
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    _id(),
    Column(
        "user_id",
        String(ID_LENGTH),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("replaced_by", String(ID_LENGTH)),
    # the id of the family's first token: a reused token revokes its whole family
    Column("family_id", String(ID_LENGTH), nullable=False, index=True),
    # a database session id (32) or a Redis one (43): no foreign key, it may live in Redis
    Column("session_id", String(SESSION_ID_LENGTH)),
    **MYSQL,
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _owner(),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("rate_limit", Integer),  # requests per hour; NULL: the server's default
    Index(None, "owner_id", "created_at"),
    **MYSQL,
)

login_attempts = Table(
    "login_attempts",
    metadata,
    _id(),
    Column("username_key", String(150), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("ip", String(64)),
    Index(None, "username_key", "at"),
    **MYSQL,
)

# The database fallback of the API keys' rate limit, shared by every server on the database:
# hits per key and time bucket (a sliding window of buckets, auth/rate_limit.py). The key is
# case-sensitive on MySQL too (binary collation), as in SQLite and Redis.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("counter_key", CounterKey, primary_key=True),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),
    Column("hits", Integer, nullable=False),
    **MYSQL,
)

password_resets = Table(
    "password_resets",
    metadata,
    _id(),
    Column(
        "user_id",
        String(ID_LENGTH),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
    **MYSQL,
)

workflows = Table(
    "workflows",
    metadata,
    _id(),
    _owner(),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("version", String(32), nullable=False),
    Column("definition", BigJSON, nullable=False),
    *_times(),
    # the id written inside the definition; unique per owner (NULL: none, or an old duplicate)
    Column("definition_id", String(200)),
    Index(None, "owner_id", "created_at", "id"),
    Index(None, "created_at", "id"),
    UniqueConstraint("owner_id", "definition_id"),
    **MYSQL,
)

workflow_executions = Table(
    "workflow_executions",
    metadata,
    _id(),
    _owner(),
    # no foreign keys to workflows/automations: a run's record outlives a deleted workflow
    Column("workflow_id", String(ID_LENGTH)),
    Column("automation_id", String(ID_LENGTH)),
    Column("status", String(20), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("initial_state", BigJSON, nullable=False),
    Column("final_state", BigJSON),
    Column("error", JSON),
    Column("timeline", BigJSON, nullable=False),
    Column("trigger_data", JSON, nullable=False),
    Column("node_runs", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("claimed_by", String(200)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("ended_at", UtcDateTime()),
    Column("duration_ms", Double),
    # what went wrong without failing the run (e.g. an error edge with no handler)
    Column("warnings", JSON),
    Column("has_warnings", Boolean, nullable=False, default=False, server_default="0"),
    # Every filter of the runs list has an index that starts with its equality columns and
    # ends with the page order (created_at, id): a page is read in order and stops after
    # ``limit`` rows, however long the history (store/sql/run_pages.py, docs/storage.md).
    Index(None, "created_at", "id"),
    Index(None, "owner_id", "created_at", "id"),
    Index(None, "workflow_id", "created_at", "id"),
    Index(None, "automation_id", "created_at", "id"),
    Index(None, "status", "created_at", "id"),
    Index(None, "trigger", "created_at", "id"),
    Index(None, "has_warnings", "created_at", "id"),
    Index(None, "owner_id", "status", "created_at", "id"),
    Index(None, "owner_id", "trigger", "created_at", "id"),
    **MYSQL,
)

automations = Table(
    "automations",
    metadata,
    _id(),
    _owner(),
    Column("name", String(200), nullable=False),
    Column("trigger_type", String(20), nullable=False),
    Column("workflow_id", String(ID_LENGTH)),
    Column("notebook_path", String(1024)),
    Column("parameters", JSON, nullable=False),
    Column("cron_expression", String(200)),
    Column("timezone", String(64), nullable=False),
    Column("webhook_token_hash", String(128), unique=True),
    Column("enabled", Boolean, nullable=False),
    Column("misfire_policy", String(20), nullable=False),
    Column("misfire_grace_seconds", Integer, nullable=False),
    Column("overlap_policy", String(20), nullable=False),
    Column("retry_count", Integer, nullable=False),
    Column("retry_delay_seconds", Double, nullable=False),
    Column("retry_backoff", Double, nullable=False),
    Column("timeout_seconds", Double),
    Column("next_run_at", UtcDateTime()),
    Column("last_run_at", UtcDateTime()),
    *_times(),
    Index(None, "enabled", "next_run_at"),
    Index(None, "owner_id", "created_at", "id"),
    Index(None, "created_at", "id"),
    **MYSQL,
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    _id(),
    Column(
        "automation_id",
        String(ID_LENGTH),
        ForeignKey("automations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("scheduled_for", UtcDateTime(), nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("reason", String(1000)),
    Column("execution_id", String(ID_LENGTH)),
    UniqueConstraint("automation_id", "scheduled_for"),  # the exactly-once claim
    **MYSQL,
)

integrations = Table(
    "integrations",
    metadata,
    _id(),
    _owner(),
    Column("provider", String(50), nullable=False),
    Column("name", String(255), nullable=False),
    Column("account_id", String(255)),
    Column("account_email", String(320)),
    Column("account_name", String(255)),
    Column("scopes", JSON, nullable=False),
    Column("access_token_encrypted", Text),  # ciphertext only: a SecretBox encrypts above
    Column("refresh_token_encrypted", Text),
    Column("expires_at", UtcDateTime()),
    Column("status", String(20), nullable=False),  # active | needs_consent | error
    Column("last_used_at", UtcDateTime()),
    Column("last_refreshed_at", UtcDateTime()),
    Column("last_error", String(1000)),
    Column("refreshing_until", UtcDateTime()),  # the refresh lease (one process at a time)
    *_times(),
    Index(None, "owner_id", "provider"),
    UniqueConstraint("owner_id", "provider", "account_id"),
    **MYSQL,
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(128), primary_key=True),
    Column(
        "user_id", String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("provider", String(50), nullable=False),
    Column("code_verifier", String(256), nullable=False),
    Column("redirect_uri", String(2048), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("return_to", String(2048)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    **MYSQL,
)

resources = Table(
    "resources",
    metadata,
    _id(),
    _owner(),
    Column("path", PathString, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(20), nullable=False),  # prompt | document | data | image | audio
    Column("mime_type", String(200), nullable=False),
    Column("content", BigBinary, nullable=False),  # bytes: text is stored as UTF-8
    Column("size", BigInteger, nullable=False),
    Column("checksum", String(64), nullable=False),  # SHA-256 of content, hex
    Column("description", Text),
    Column("tags", JSON),
    Column("is_public", Boolean, nullable=False, default=False),
    *_times(),
    UniqueConstraint("owner_id", "path"),
    Index(None, "owner_id", "created_at", "id"),
    Index(None, "is_public", "created_at", "id"),
    **MYSQL,
)

ai_models = Table(
    "ai_models",
    metadata,
    Column("id", String(200), primary_key=True),  # the provider's model id
    Column("name", String(300), nullable=False),
    Column("provider", String(50), nullable=False),  # the vendor: "openai" of "openai/gpt-4o"
    Column("description", Text),
    Column("context_length", BigInteger),
    Column("max_completion_tokens", BigInteger),
    Column("input_modalities", JSON),
    Column("output_modalities", JSON),
    Column("prompt_price", Double),  # USD per token
    Column("completion_price", Double),  # USD per token
    Column("pricing", JSON, nullable=False),  # the provider's own pricing object
    Column("is_active", Boolean, nullable=False, default=True),  # in the provider's last list
    Column("updated_at", UtcDateTime(), nullable=False),
    **MYSQL,
)

ai_usage = Table(
    "ai_usage",
    metadata,
    _id(),
    _owner(),
    Column("model", String(200), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost", Double, nullable=False),
    Column("execution_id", String(ID_LENGTH)),
    Column("workflow_id", String(200)),
    Column("node_path", String(500)),
    Column("duration_ms", Double),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "owner_id", "created_at", "id"),
    Index(None, "created_at", "id"),
    **MYSQL,
)
