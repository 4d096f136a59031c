"""Resources, integrations, OAuth states, AI models and usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import AiModel, OAuthState, Scope, new_id

from .conftest import walk

NOW = datetime(2024, 8, 1, 8, 0, 0, 1234, tzinfo=UTC)

# -- resources -----------------------------------------------------------------------------------


def test_resource_crud(store: Store, alice: Scope) -> None:
    content = "ligne 1 — naïve ✓ 🚀\n" * 50_000  # ~1.2 MB of unicode
    created = store.resources.create(
        alice, path="data/notes.md", content=content, content_type="text/markdown"
    )
    assert created.owner_id == alice.user_id and created.size == len(content.encode())
    assert store.resources.get(alice, created.id) == created
    assert store.resources.get_by_path(alice, "data/notes.md") == created
    updated = store.resources.update(alice, created.id, content="short", content_type="text/x")
    assert (updated.content, updated.content_type, updated.path) == (
        "short",
        "text/x",
        created.path,
    )
    assert updated.updated_at >= created.updated_at
    moved = store.resources.update(alice, created.id, path="archive/notes.md")
    assert store.resources.get_by_path(alice, "archive/notes.md") == moved
    with pytest.raises(RecordNotFoundError):
        store.resources.get_by_path(alice, "data/notes.md")
    with pytest.raises(ValueError, match="owner_id"):
        store.resources.update(alice, created.id, content="x", owner_id="y")
    assert store.resources.get(alice, created.id) == moved
    store.resources.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.resources.get(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.resources.delete(alice, created.id)


def test_resource_paths_are_unique_per_owner(store: Store, alice: Scope, bob: Scope) -> None:
    first = store.resources.create(alice, path="a.txt", content="one")
    with pytest.raises(ConflictError):
        store.resources.create(alice, path="a.txt", content="two")
    assert store.resources.get_by_path(alice, "a.txt") == first
    bobs = store.resources.create(bob, path="a.txt", content="bob's")  # another owner: fine
    assert store.resources.get_by_path(bob, "a.txt") == bobs
    second = store.resources.create(alice, path="b.txt", content="b")
    with pytest.raises(ConflictError):
        store.resources.update(alice, second.id, path="a.txt")
    assert store.resources.get(alice, second.id).path == "b.txt"


def test_resource_scoping_and_listing(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    ids = [
        store.resources.create(alice, path=p, content=p).id
        for p in ("docs/a", "docs/b", "img/c", "docs/sub/d")
    ]
    bobs = store.resources.create(bob, path="docs/secret", content="s")
    for call in (
        lambda: store.resources.get(bob, ids[0]),
        lambda: store.resources.update(bob, ids[0], content="hacked"),
        lambda: store.resources.delete(bob, ids[0]),
        lambda: store.resources.get_by_path(bob, "docs/a"),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert store.resources.get(alice, ids[0]).content == "docs/a"
    assert [r.id for r in walk(store.resources.list, limit=3, scope=alice)] == ids[::-1]
    docs = store.resources.list(alice, path_prefix="docs/").items
    assert [r.path for r in docs] == ["docs/sub/d", "docs/b", "docs/a"]
    assert len(walk(store.resources.list, limit=2, scope=admin)) == 5
    assert store.resources.get(admin, bobs.id).owner_id == bob.user_id


# -- integrations and OAuth states ---------------------------------------------------------------


def test_integration_crud_and_scoping(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    expires = NOW + timedelta(hours=1)
    created = store.integrations.create(
        alice,
        provider="google",
        account_email="alice@gmail.com",
        scopes=["drive.readonly", "sheets"],
        token_encrypted="gAAAAB-ciphertext",
        expires_at=expires,
    )
    assert created.scopes == ("drive.readonly", "sheets") and created.expires_at == expires
    assert store.integrations.get(alice, created.id) == created
    updated = store.integrations.update(alice, created.id, token_encrypted="new", scopes=("a",))
    assert (updated.token_encrypted, updated.scopes) == ("new", ("a",))
    with pytest.raises(ValueError, match="provider"):
        store.integrations.update(alice, created.id, provider="github")
    with pytest.raises(ValueError, match="nonsense"):
        store.integrations.create(alice, provider="google", nonsense=1)
    other = store.integrations.create(alice, provider="slack")
    bobs = store.integrations.create(bob, provider="google")
    for call in (
        lambda: store.integrations.get(bob, created.id),
        lambda: store.integrations.update(bob, created.id, token_encrypted="x"),
        lambda: store.integrations.delete(bob, created.id),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert [i.id for i in store.integrations.list(alice)] == [other.id, created.id]
    assert [i.id for i in store.integrations.list(alice, provider="google")] == [created.id]
    assert [i.id for i in store.integrations.list(bob)] == [bobs.id]
    assert len(store.integrations.list(admin, provider="google")) == 2
    store.integrations.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.integrations.get(alice, created.id)
    assert store.integrations.get(alice, other.id) == other


def test_oauth_states_are_single_use(store: Store, alice: Scope) -> None:
    state = OAuthState(
        state="s-" + new_id(),
        user_id=alice.user_id,
        provider="google",
        code_verifier="v" * 64,
        redirect_uri="http://localhost:8888/workscript/auth/google/callback?x=1",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
    )
    store.integrations.save_oauth_state(state)
    assert store.integrations.pop_oauth_state(state.state, NOW + timedelta(minutes=1)) == state
    assert store.integrations.pop_oauth_state(state.state, NOW + timedelta(minutes=1)) is None
    assert store.integrations.pop_oauth_state("unknown", NOW) is None


def test_expired_oauth_state_is_refused(store: Store, alice: Scope) -> None:
    state = OAuthState("old", alice.user_id, "google", "v", "http://x", NOW, NOW)
    store.integrations.save_oauth_state(state)
    assert store.integrations.pop_oauth_state("old", NOW + timedelta(seconds=1)) is None


# -- AI models and usage -------------------------------------------------------------------------


def test_ai_models_upsert(store: Store) -> None:
    models = [
        AiModel("openai/gpt-4o-mini", "GPT-4o mini", context_length=128_000,
                pricing={"prompt": "0.00000015", "completion": "0.0000006"}, updated_at=NOW),
        AiModel("anthropic/claude-3.5", "Claude", pricing={"prompt": "0.000003"}, updated_at=NOW),
    ]  # fmt: skip
    assert store.ai.upsert_models(models) == 2
    assert sorted(store.ai.list_models(), key=lambda m: m.id) == sorted(models, key=lambda m: m.id)
    renamed = AiModel("openai/gpt-4o-mini", "GPT-4o mini (new)", context_length=64_000,
                      pricing={}, updated_at=NOW + timedelta(days=1))  # fmt: skip
    assert store.ai.upsert_models([renamed]) == 1
    listed = {m.id: m for m in store.ai.list_models()}
    assert len(listed) == 2 and listed["openai/gpt-4o-mini"] == renamed


def test_ai_usage(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    run = store.executions.create(alice)
    first = store.ai.add_usage(
        alice, model="m1", prompt_tokens=100, completion_tokens=20, cost=0.5, execution_id=run.id
    )
    assert (first.owner_id, first.execution_id, first.cost) == (alice.user_id, run.id, 0.5)
    store.ai.add_usage(alice, model="m2", prompt_tokens=10, completion_tokens=5, cost=0.25)
    store.ai.add_usage(alice, model="m1", prompt_tokens=1, completion_tokens=2, cost=0.125)
    store.ai.add_usage(bob, model="m1", prompt_tokens=1000, completion_tokens=1000, cost=9.0)

    listed = walk(store.ai.list_usage, limit=2, scope=alice)
    assert len(listed) == 3 and listed[-1] == first
    assert all(u.owner_id == alice.user_id for u in listed)
    assert len(walk(store.ai.list_usage, limit=2, scope=admin)) == 4

    totals = store.ai.usage_totals(alice)
    assert totals["requests"] == 3
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (111, 27)
    assert totals["cost"] == pytest.approx(0.875)
    assert set(totals["by_model"]) == {"m1", "m2"}
    assert store.ai.usage_totals(admin)["requests"] == 4
    assert store.ai.usage_totals(bob)["cost"] == pytest.approx(9.0)

    future = datetime.now(UTC) + timedelta(days=1)
    assert store.ai.list_usage(alice, since=future).items == ()
    assert store.ai.usage_totals(alice, since=future)["requests"] == 0
    past = datetime.now(UTC) - timedelta(days=1)
    assert len(store.ai.list_usage(alice, since=past).items) == 3


def test_resource_paths_are_case_sensitive_on_every_backend(store: Store, alice: Scope) -> None:
    upper = store.resources.create(alice, path="notes/Report.md", content="A")
    lower = store.resources.create(alice, path="notes/report.md", content="a")
    assert upper.id != lower.id
    assert store.resources.get_by_path(alice, "notes/Report.md").content == "A"
    assert store.resources.get_by_path(alice, "notes/report.md").content == "a"
    listed = store.resources.list(alice, path_prefix="notes/R").items
    assert [r.path for r in listed] == ["notes/Report.md"]
