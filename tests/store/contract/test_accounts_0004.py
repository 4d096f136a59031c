"""What the accounts layer (issue 15) needs from the store, on every backend.

Per-user permissions; refresh-token families with atomic rotation (two rotations of one token:
exactly one wins) and family/user revocation; session revocation per user; scoped get/update of
API keys with a per-key rate limit; failed logins reset by a success; single-use password
resets; and the database rate counters (a window of buckets, never more than the limit through,
shared by every store on one database). The races run real threads against real SQLite and
MariaDB connections. Last, migration 0004 up and down on a database that already holds
accounts (a token from before it heads a family of its own).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, insert, inspect, select
from sqlalchemy.engine import Engine, make_url

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store import migrate, tables
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.interfaces.credentials import API_KEY_FIELDS
from workscript_jupyter.store.records import Scope, new_id
from workscript_jupyter.store.sql import SqlStore

from .conftest import race

NOW = datetime(2024, 7, 1, 10, 0, 0, 250000, tzinfo=UTC)
LATER = NOW + timedelta(days=7)
T = TypeVar("T")


# -- users' extra permissions -----------------------------------------------------------------


def test_user_permissions(store: Store) -> None:
    plain = store.users.create("plain")
    assert plain.permissions == () and store.users.get(plain.id).permissions == ()
    user = store.users.create("ops", permissions=["automation:execute", "user:manage"])
    assert user.permissions == ("automation:execute", "user:manage")
    assert store.users.get(user.id) == user
    assert store.users.find(username="OPS") == user
    updated = store.users.update(user.id, permissions=("workflow:read",))
    assert updated.permissions == ("workflow:read",)
    assert store.users.get(user.id).permissions == ("workflow:read",)
    assert store.users.update(user.id, permissions=None).permissions == ()
    assert [u.permissions for u in store.users.list().items if u.id == user.id] == [()]


def test_user_permissions_must_be_a_list_of_strings(store: Store) -> None:
    user = store.users.create("strict", permissions=["workflow:read"])
    bad: Any
    for bad in ("workflow:read", [1], 5):
        with pytest.raises(ValueError, match="permissions"):
            store.users.update(user.id, permissions=bad, display_name="x")
        with pytest.raises(ValueError, match="permissions"):
            store.users.create(f"new-{new_id()}", permissions=bad)
    assert store.users.get(user.id) == user


def test_updating_the_email_keeps_it_unique_and_found_case_insensitively(store: Store) -> None:
    user = store.users.create("mail", email="old@example.org")
    store.users.create("other", email="taken@example.org")
    updated = store.users.update(user.id, email="New@Example.ORG")
    assert updated.email == "New@Example.ORG"
    assert store.users.find(email="new@example.org") == updated
    assert store.users.find(email="old@example.org") is None
    with pytest.raises(ConflictError):
        store.users.update(user.id, email="TAKEN@example.org")


# -- refresh-token families -------------------------------------------------------------------


def test_a_new_token_starts_a_family_named_after_it(store: Store, alice: Scope) -> None:
    first = store.credentials.add_refresh_token(alice.user_id, "f1", LATER)
    assert first.family_id == first.id and first.session_id is None
    joined = store.credentials.add_refresh_token(
        alice.user_id, "f2", LATER, family_id=first.family_id, session_id="s" * 43
    )
    assert (joined.family_id, joined.session_id) == (first.id, "s" * 43)
    assert store.credentials.find_refresh_token("f2") == joined


def test_rotation_replaces_a_live_token_once(store: Store, alice: Scope) -> None:
    token = store.credentials.add_refresh_token(alice.user_id, "r1", LATER, session_id="sess-1")
    expires = LATER + timedelta(hours=1)
    new = store.credentials.rotate_refresh_token(token.id, "r2", expires, NOW)
    assert new is not None and new.id != token.id
    assert (new.user_id, new.family_id, new.session_id) == (alice.user_id, token.id, "sess-1")
    assert (new.token_hash, new.expires_at, new.revoked_at) == ("r2", expires, None)
    assert store.credentials.find_refresh_token("r2") == new
    old = store.credentials.find_refresh_token("r1")
    assert old is not None and (old.revoked_at, old.replaced_by) == (NOW, new.id)

    # the old token presented again is a reuse: nothing is written
    assert store.credentials.rotate_refresh_token(token.id, "r3", expires, NOW) is None
    assert store.credentials.find_refresh_token("r3") is None
    assert store.credentials.find_refresh_token("r1") == old
    assert store.credentials.rotate_refresh_token(new_id(), "r4", expires, NOW) is None
    assert store.credentials.find_refresh_token("r4") is None
    # the new one rotates on in the same family
    newer = store.credentials.rotate_refresh_token(new.id, "r5", expires, NOW)
    assert newer is not None and newer.family_id == token.id


def test_a_rotation_to_a_stored_hash_changes_nothing(store: Store, alice: Scope) -> None:
    token = store.credentials.add_refresh_token(alice.user_id, "d1", LATER)
    store.credentials.add_refresh_token(alice.user_id, "d2", LATER)
    with pytest.raises(ConflictError):
        store.credentials.rotate_refresh_token(token.id, "d2", LATER, NOW)
    assert store.credentials.find_refresh_token("d1") == token  # still live
    assert store.credentials.rotate_refresh_token(token.id, "d3", LATER, NOW) is not None


def test_two_rotations_of_one_token_at_once_exactly_one_wins(
    store: Store, twin: Store, alice: Scope
) -> None:
    for round_ in range(10):
        token = store.credentials.add_refresh_token(alice.user_id, f"race{round_}", LATER)
        results = race(
            [
                partial(store.credentials.rotate_refresh_token, token.id, f"a{round_}", LATER, NOW),
                partial(twin.credentials.rotate_refresh_token, token.id, f"b{round_}", LATER, NOW),
            ]
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        old = store.credentials.find_refresh_token(f"race{round_}")
        assert old is not None and old.replaced_by == winners[0].id
        stored = [store.credentials.find_refresh_token(h) for h in (f"a{round_}", f"b{round_}")]
        assert [t for t in stored if t is not None] == winners


def test_revoking_a_family_and_a_users_tokens(store: Store, alice: Scope, bob: Scope) -> None:
    first = store.credentials.add_refresh_token(alice.user_id, "fa1", LATER)
    second = store.credentials.rotate_refresh_token(first.id, "fa2", LATER, NOW)
    assert second is not None
    other_family = store.credentials.add_refresh_token(alice.user_id, "fb1", LATER)
    bobs = store.credentials.add_refresh_token(bob.user_id, "bob1", LATER)
    later = NOW + timedelta(minutes=1)

    assert store.credentials.revoke_refresh_family(first.family_id, later) == 1  # fa2 only
    assert store.credentials.revoke_refresh_family(first.family_id, later) == 0
    rotated = store.credentials.find_refresh_token("fa1")
    assert rotated is not None and rotated.revoked_at == NOW  # kept its own revocation
    revoked = store.credentials.find_refresh_token("fa2")
    assert revoked is not None and revoked.revoked_at == later
    assert store.credentials.find_refresh_token("fb1") == other_family

    assert store.credentials.revoke_user_refresh_tokens(alice.user_id, later) == 1  # fb1
    assert store.credentials.revoke_user_refresh_tokens(alice.user_id, later) == 0
    gone = store.credentials.find_refresh_token("fb1")
    assert gone is not None and gone.revoked_at == later
    assert store.credentials.find_refresh_token("bob1") == bobs
    assert store.credentials.rotate_refresh_token(second.id, "fa3", LATER, later) is None


def test_deleting_a_user_deletes_every_family(store: Store, alice: Scope) -> None:
    token = store.credentials.add_refresh_token(alice.user_id, "x1", LATER)
    store.credentials.rotate_refresh_token(token.id, "x2", LATER, NOW)
    store.credentials.add_refresh_token(alice.user_id, "y1", LATER, session_id="s")
    store.users.delete(alice.user_id)
    assert [store.credentials.find_refresh_token(h) for h in ("x1", "x2", "y1")] == [None] * 3


def test_revoking_a_users_sessions(store: Store, alice: Scope, bob: Scope) -> None:
    one = store.credentials.create_session(alice.user_id, LATER)
    two = store.credentials.create_session(alice.user_id, LATER)
    store.credentials.revoke_session(two.id, NOW)
    bobs = store.credentials.create_session(bob.user_id, LATER)
    later = NOW + timedelta(seconds=5)
    assert store.credentials.revoke_user_sessions(alice.user_id, later) == 1
    assert store.credentials.revoke_user_sessions(alice.user_id, later) == 0
    got_one, got_two = (store.credentials.get_session(s.id) for s in (one, two))
    assert got_one is not None and got_one.revoked_at == later
    assert got_two is not None and got_two.revoked_at == NOW
    assert store.credentials.get_session(bobs.id) == bobs


# -- API keys ---------------------------------------------------------------------------------


def _key(store: Store, scope: Scope, key_hash: str, **extra: Any) -> Any:
    return store.credentials.create_api_key(
        scope, name="ci", prefix="wks_live_abcd", key_hash=key_hash, **extra
    )


def test_api_key_rate_limit_and_get(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    key = _key(store, alice, "rl1", scopes=["workflow:read"], rate_limit=20)
    assert key.rate_limit == 20 and _key(store, alice, "rl2").rate_limit is None
    assert store.credentials.get_api_key(alice, key.id) == key
    assert store.credentials.get_api_key(admin, key.id) == key
    assert store.credentials.find_api_key("rl1") == key
    for scope, key_id in ((bob, key.id), (alice, new_id())):
        with pytest.raises(RecordNotFoundError):
            store.credentials.get_api_key(scope, key_id)
    for bad in (0, -1, True, 2.5, "10"):
        with pytest.raises(ValueError, match="rate_limit"):
            _key(store, alice, f"bad-{bad}", rate_limit=bad)
    with pytest.raises(ValueError, match="scopes"):
        _key(store, alice, "bad-scopes", scopes="workflow:read")
    assert {k.key_hash for k in store.credentials.list_api_keys(alice)} == {"rl1", "rl2"}


def test_update_api_key(store: Store, alice: Scope, admin: Scope) -> None:
    assert frozenset({"name", "scopes", "rate_limit", "expires_at"}) == API_KEY_FIELDS
    key = _key(store, alice, "u1", scopes=["workflow:read"], expires_at=LATER)
    changed = store.credentials.update_api_key(
        alice,
        key.id,
        name="deploy",
        scopes=("workflow:read", "workflow:execute"),
        rate_limit=50,
        expires_at=None,
    )
    assert (changed.name, changed.scopes, changed.rate_limit, changed.expires_at) == (
        "deploy",
        ("workflow:read", "workflow:execute"),
        50,
        None,
    )
    assert (changed.id, changed.key_hash, changed.created_at) == (key.id, "u1", key.created_at)
    assert store.credentials.get_api_key(alice, key.id) == changed
    again = store.credentials.update_api_key(admin, key.id, rate_limit=None, expires_at=LATER)
    assert (again.rate_limit, again.expires_at, again.name) == (None, LATER, "deploy")
    assert store.credentials.update_api_key(alice, key.id) == again  # nothing to change


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"key_hash": "x"}, "key_hash"),
        ({"owner_id": new_id()}, "owner_id"),
        ({"revoked_at": NOW}, "revoked_at"),
        ({"last_used_at": NOW}, "last_used_at"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"scopes": "workflow:read"}, "scopes"),
        ({"name": ""}, "name"),
        ({"expires_at": datetime(2030, 1, 1)}, "expires_at"),  # naive: refused
    ],
)
def test_update_api_key_refuses_other_fields_and_bad_values(
    store: Store, alice: Scope, changes: dict[str, Any], named: str
) -> None:
    key = _key(store, alice, "f1", rate_limit=5)
    with pytest.raises(ValueError, match=named):
        store.credentials.update_api_key(alice, key.id, **{"name": "changed", **changes})
    assert store.credentials.get_api_key(alice, key.id) == key


def test_another_users_key_is_not_found_and_a_revoked_one_cannot_change(
    store: Store, alice: Scope, bob: Scope
) -> None:
    key = _key(store, alice, "s1")
    with pytest.raises(RecordNotFoundError):
        store.credentials.update_api_key(bob, key.id, name="mine now")
    with pytest.raises(RecordNotFoundError):
        store.credentials.revoke_api_key(bob, key.id, NOW)
    with pytest.raises(RecordNotFoundError):
        store.credentials.update_api_key(alice, new_id(), name="x")
    assert store.credentials.get_api_key(alice, key.id) == key
    store.credentials.revoke_api_key(alice, key.id, NOW)
    with pytest.raises(ConflictError, match="revoked"):
        store.credentials.update_api_key(alice, key.id, rate_limit=100)
    with pytest.raises(ConflictError, match="revoked"):
        store.credentials.update_api_key(alice, key.id)
    revoked = store.credentials.get_api_key(alice, key.id)
    assert (revoked.revoked_at, revoked.rate_limit) == (NOW, None)


# -- failed logins ----------------------------------------------------------------------------


def _attempts(store: Store, username: str, *outcomes: tuple[int, bool]) -> None:
    for minutes, succeeded in outcomes:
        at = NOW + timedelta(minutes=minutes)
        store.credentials.record_login_attempt(username, succeeded, at)


def test_failed_logins_since_are_reset_by_a_success(store: Store) -> None:
    _attempts(store, "Eve", (1, False), (2, False), (3, True), (4, False), (5, False))
    _attempts(store, "mallory", (4, False))
    times = store.credentials.failed_logins_since("EVE", NOW)
    assert times == [NOW + timedelta(minutes=5), NOW + timedelta(minutes=4)]  # newest first
    assert store.credentials.failed_logins_since("eve", NOW, limit=1) == times[:1]
    assert store.credentials.failed_logins_since("eve", NOW + timedelta(minutes=5)) == times[:1]
    assert store.credentials.failed_logins_since("nobody", NOW) == []
    # a success before the window does not matter; the older count stays as it was
    assert len(store.credentials.failed_logins_since("eve", NOW + timedelta(minutes=4))) == 2
    assert store.credentials.count_failed_logins("eve", NOW) == 4
    _attempts(store, "eve", (6, True))
    assert store.credentials.failed_logins_since("eve", NOW) == []
    assert store.credentials.count_failed_logins("eve", NOW) == 4
    with pytest.raises(ValueError, match="limit"):
        store.credentials.failed_logins_since("eve", NOW, limit=0)


def test_a_failure_at_the_time_of_a_success_counts_as_before_it(store: Store) -> None:
    _attempts(store, "zed", (1, False), (2, False), (2, True), (3, False))
    assert store.credentials.failed_logins_since("zed", NOW) == [NOW + timedelta(minutes=3)]


def test_failed_logins_since_keeps_at_most_limit(store: Store) -> None:
    _attempts(store, "many", *((minute, False) for minute in range(12)))
    times = store.credentials.failed_logins_since("many", NOW, limit=10)
    assert times == [NOW + timedelta(minutes=m) for m in range(11, 1, -1)]


# -- password resets --------------------------------------------------------------------------


def test_a_password_reset_is_used_once(store: Store, alice: Scope) -> None:
    reset = store.credentials.create_password_reset(alice.user_id, "once", LATER)
    assert store.credentials.use_password_reset(reset.id, NOW) is True
    assert store.credentials.use_password_reset(reset.id, NOW + timedelta(seconds=1)) is False
    used = store.credentials.find_password_reset("once")
    assert used is not None and used.used_at == NOW  # the second use wrote nothing
    with pytest.raises(RecordNotFoundError):
        store.credentials.use_password_reset(new_id(), NOW)


def test_two_uses_of_a_reset_at_once_exactly_one_succeeds(
    store: Store, twin: Store, alice: Scope
) -> None:
    for round_ in range(10):
        reset = store.credentials.create_password_reset(alice.user_id, f"r{round_}", LATER)
        results = race(
            [
                partial(store.credentials.use_password_reset, reset.id, NOW),
                partial(twin.credentials.use_password_reset, reset.id, NOW),
            ]
        )
        assert sorted(results) == [False, True]


def test_using_every_reset_of_a_user(store: Store, alice: Scope, bob: Scope) -> None:
    first = store.credentials.create_password_reset(alice.user_id, "a1", LATER)
    store.credentials.create_password_reset(alice.user_id, "a2", LATER)
    store.credentials.create_password_reset(alice.user_id, "a3", LATER)
    store.credentials.create_password_reset(bob.user_id, "b1", LATER)
    store.credentials.use_password_reset(first.id, NOW)
    later = NOW + timedelta(minutes=1)
    assert store.credentials.use_all_password_resets(alice.user_id, later) == 2
    assert store.credentials.use_all_password_resets(alice.user_id, later) == 0
    used = [store.credentials.find_password_reset(h) for h in ("a1", "a2", "a3", "b1")]
    assert [r.used_at if r else "missing" for r in used] == [NOW, later, later, None]


# -- rate counters ----------------------------------------------------------------------------


def test_rate_counter_counts_up_to_the_limit(store: Store) -> None:
    hit = store.credentials.hit_rate_counter
    assert [hit("key:a", 100, 41, 3) for _ in range(4)] == [
        (1, True),
        (2, True),
        (3, True),
        (3, False),  # refused: not counted
    ]
    assert hit("key:a", 100, 41, 3) == (3, False)
    assert hit("key:b", 100, 41, 3) == (1, True)  # another key, its own count
    assert hit("KEY:A", 100, 41, 3) == (1, True)  # keys are case-sensitive everywhere


def test_rate_counter_grants_a_lease_up_to_the_limit(store: Store) -> None:
    hit = store.credentials.hit_rate_counter
    assert hit("lease", 100, 41, 10, wanted=4) == (4, 4)
    assert hit("lease", 101, 41, 10, wanted=4) == (8, 4)
    assert hit("lease", 101, 41, 10, wanted=4) == (10, 2)  # what the limit leaves
    assert hit("lease", 101, 41, 10, wanted=4) == (10, 0)
    with pytest.raises(ValueError, match="wanted"):
        hit("lease", 101, 41, 10, wanted=0)


def test_rate_counter_sums_only_the_window(store: Store) -> None:
    hit = store.credentials.hit_rate_counter
    for bucket in (10, 11, 11, 12):
        assert hit("slide", bucket, bucket - 2, 4)[1]
    assert hit("slide", 12, 10, 4) == (4, False)  # buckets 10..12 hold 4
    assert hit("slide", 12, 11, 4) == (4, True)  # bucket 10 left the window
    assert hit("slide", 13, 11, 4) == (4, False)
    assert hit("slide", 13, 12, 4) == (3, True)  # 12 (2 hits) and 13 (1 hit)
    assert hit("slide", 14, 14, 1) == (1, True)


def test_rate_counter_arguments(store: Store) -> None:
    hit = store.credentials.hit_rate_counter
    assert hit("k" * 191, 5, 0, 1) == (1, True)
    with pytest.raises(ValueError, match="191"):
        hit("k" * 192, 5, 0, 1)
    args: tuple[Any, ...]
    for args in (("", 5, 0, 1), ("k", 5, 6, 1), ("k", 5, 0, 0), ("k", "5", 0, 1)):
        with pytest.raises(ValueError):
            hit(*args)


def test_pruning_rate_counters(store: Store) -> None:
    hit = store.credentials.hit_rate_counter
    for key in ("p1", "p2"):
        for bucket in (1, 2, 3):
            hit(key, bucket, 0, 100)
    assert store.credentials.prune_rate_counters(3) == 4
    assert store.credentials.prune_rate_counters(3) == 0
    assert hit("p1", 3, 0, 100) == (2, True)  # bucket 3 kept its hit


def test_concurrent_hits_never_pass_the_limit(store: Store, twin: Store) -> None:
    """Sixteen threads on two stores (two servers on one database) race for 10 slots, in a
    fresh window each round, so the first hits of the key race too."""
    for round_ in range(3):
        key = f"crowd:{round_}"
        calls = [partial(s.credentials.hit_rate_counter, key, 7, 0, 10) for s in [store, twin] * 8]
        results = race(calls)
        assert sum(allowed for _, allowed in results) == 10, results
        assert sorted(hits for hits, allowed in results if allowed) == list(range(1, 11))
        assert store.credentials.hit_rate_counter(key, 7, 0, 10) == (10, False)


def test_two_stores_share_one_count(store: Store, twin: Store) -> None:
    assert store.credentials.hit_rate_counter("shared", 1, 0, 3) == (1, True)
    assert twin.credentials.hit_rate_counter("shared", 1, 0, 3) == (2, True)
    assert store.credentials.hit_rate_counter("shared", 2, 0, 3) == (3, True)
    assert twin.credentials.hit_rate_counter("shared", 2, 0, 3) == (3, False)


# -- migration 0004 on a database that already holds accounts ---------------------------------


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def migration_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own: a SQLite file, or ``workscript_m0004_<pid>``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm0004.sqlite'}"
        return
    server = make_url(request.getfixturevalue("mysql_url")).set(database="")
    database = f"workscript_m0004_{os.getpid()}"
    root = create_engine(server)
    try:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            connection.exec_driver_sql(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
        root.dispose()


def _columns(engine: Engine, table: str) -> dict[str, Any]:
    return {column["name"]: column for column in inspect(engine).get_columns(table)}


def test_migration_0004_up_and_down_keeps_existing_accounts(migration_url: str) -> None:
    migrate.upgrade(migration_url, "0003")
    engine = create_store_engine(migration_url)
    try:
        # the live tables, inserting only columns 0003 has (as the 0002 test does)
        users, tokens, keys = tables.users, tables.refresh_tokens, tables.api_keys
        user_id, token_id, key_id = new_id(), new_id(), new_id()
        with engine.begin() as connection:
            connection.execute(
                insert(users).values(
                    id=user_id,
                    username="Old",
                    username_key="old",
                    roles=["user"],
                    is_active=True,
                    source="local",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            connection.execute(
                insert(tokens).values(
                    id=token_id,
                    user_id=user_id,
                    token_hash="old-hash",
                    created_at=NOW,
                    expires_at=LATER,
                )
            )
            connection.execute(
                insert(keys).values(
                    id=key_id,
                    owner_id=user_id,
                    name="old key",
                    prefix="wks_live_old",
                    key_hash="old-key",
                    scopes=["workflow:read"],
                    created_at=NOW,
                )
            )

        migrate.upgrade(migration_url)  # through 0004 and the revisions after it
        assert migrate.drift(engine) == []
        family = _columns(engine, "refresh_tokens")["family_id"]
        assert family["nullable"] is False
        assert ["family_id"] in [
            i["column_names"] for i in inspect(engine).get_indexes("refresh_tokens")
        ]
        store = SqlStore(engine)
        token = store.credentials.find_refresh_token("old-hash")
        assert token is not None and (token.family_id, token.session_id) == (token_id, None)
        assert store.users.get(user_id).permissions == ()
        key = store.credentials.find_api_key("old-key")
        assert key is not None and key.rate_limit is None and key.scopes == ("workflow:read",)
        rotated = store.credentials.rotate_refresh_token(token_id, "new-hash", LATER, NOW)
        assert rotated is not None and rotated.family_id == token_id
        assert store.credentials.hit_rate_counter("k", 1, 0, 5) == (1, True)

        migrate.downgrade(migration_url, "0003")
        assert "rate_counters" not in inspect(engine).get_table_names()
        assert not {"family_id", "session_id"} & set(_columns(engine, "refresh_tokens"))
        assert "permissions" not in _columns(engine, "users")
        assert "rate_limit" not in _columns(engine, "api_keys")
        with engine.connect() as connection:
            hashes = connection.execute(select(tokens.c.token_hash).order_by(tokens.c.token_hash))
            assert list(hashes.scalars()) == ["new-hash", "old-hash"]
            assert connection.execute(select(keys.c.name)).scalar_one() == "old key"

        migrate.upgrade(migration_url)  # and up again: each token heads a family of its own
        store = SqlStore(engine)
        for token_hash in ("old-hash", "new-hash"):
            again = store.credentials.find_refresh_token(token_hash)
            assert again is not None and again.family_id == again.id
        assert migrate.drift(engine) == []
    finally:
        engine.dispose()
