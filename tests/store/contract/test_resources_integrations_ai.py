"""AI models and usage (resources: test_resources.py; integrations: test_integrations.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from workscript_jupyter.errors import RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import AiModel, AiUsage, Scope, new_id

from .conftest import walk

NOW = datetime(2024, 8, 1, 8, 0, 0, 1234, tzinfo=UTC)

# resources: test_resources.py


# integrations and OAuth states: test_integrations.py


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


# -- AI catalogue: full sync, filters, paging ----------------------------------------------------


def _model(model_id: str, **fields: object) -> AiModel:
    values: dict[str, object] = {
        "name": model_id,
        "provider": model_id.split("/", 1)[0],
        "input_modalities": ["text"],
        "output_modalities": ["text"],
        "updated_at": NOW,
    }
    values.update(fields)
    return AiModel(model_id, **values)  # type: ignore[arg-type]


CATALOGUE = [
    _model("anthropic/claude-3.5", context_length=200_000, prompt_price=3e-6,
           completion_price=15e-6, input_modalities=["text", "image"]),
    _model("openai/gpt-4o", context_length=128_000, prompt_price=2.5e-6,
           completion_price=10e-6, input_modalities=["text", "image", "file"]),
    _model("openai/gpt-4o-mini", context_length=128_000, prompt_price=0.15e-6,
           completion_price=0.6e-6),
    _model("meta/llama-3-8b:free", context_length=8_192, prompt_price=0.0, completion_price=0.0),
    _model("mystery/unpriced", context_length=None, prompt_price=None, completion_price=None),
]  # fmt: skip


def _ids(models: list[AiModel]) -> list[str]:
    return [m.id for m in models]


def test_ai_full_sync_marks_missing_models_inactive(store: Store) -> None:
    assert store.ai.upsert_models(CATALOGUE, full_sync=True) == len(CATALOGUE)
    later = NOW + timedelta(days=1)
    kept = [replace(m, updated_at=later) for m in CATALOGUE if m.id != "openai/gpt-4o"]
    store.ai.upsert_models(kept, full_sync=True)
    assert "openai/gpt-4o" not in _ids(store.ai.list_models())
    gone = store.ai.get_model("openai/gpt-4o")
    assert gone is not None and gone.is_active is False and gone.prompt_price == 2.5e-6
    assert "openai/gpt-4o" in _ids(store.ai.list_models(include_inactive=True))
    # a partial upsert (not a full sync) leaves the others alone
    store.ai.upsert_models([replace(CATALOGUE[0], name="renamed", updated_at=later)])
    assert len(store.ai.list_models()) == len(CATALOGUE) - 1
    # back in the provider's list: active again
    store.ai.upsert_models([replace(CATALOGUE[1], updated_at=later)])
    assert store.ai.get_model("openai/gpt-4o").is_active  # type: ignore[union-attr]
    assert store.ai.last_synced_at() == later


def test_ai_model_filters(store: Store) -> None:
    assert store.ai.last_synced_at() is None and store.ai.list_models() == []
    store.ai.upsert_models(CATALOGUE)
    assert store.ai.last_synced_at() == NOW
    assert _ids(store.ai.list_models(provider="openai")) == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    assert _ids(store.ai.list_models(modality="image")) == [
        "anthropic/claude-3.5",
        "openai/gpt-4o",
    ]
    assert _ids(store.ai.list_models(modality="file")) == ["openai/gpt-4o"]
    assert store.ai.list_models(modality="ima") == []  # a whole modality, not a substring
    for wildcard in ("%", "t_xt"):  # LIKE wildcards are plain characters
        assert store.ai.list_models(modality=wildcard) == [], wildcard
    assert _ids(store.ai.list_models(min_context_length=128_000)) == [
        "anthropic/claude-3.5",
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
    ]
    # an unknown price never matches a price ceiling; free models do
    assert _ids(store.ai.list_models(max_prompt_price=1e-6)) == [
        "meta/llama-3-8b:free",
        "openai/gpt-4o-mini",
    ]
    assert _ids(
        store.ai.list_models(provider="openai", modality="image", max_prompt_price=2.5e-6)
    ) == ["openai/gpt-4o"]
    got = store.ai.get_model("openai/gpt-4o-mini")
    assert got == CATALOGUE[2]
    assert store.ai.get_model("OPENAI/GPT-4O-MINI") is None  # ids are case-sensitive
    assert store.ai.get_model("nope/none") is None


def test_ai_models_page_by_id(store: Store) -> None:
    store.ai.upsert_models(CATALOGUE)
    everything = _ids(store.ai.list_models())
    assert everything == sorted(everything)
    first = store.ai.list_models(limit=2)
    second = store.ai.list_models(limit=2, after=first[-1].id)
    rest = store.ai.list_models(after=second[-1].id)
    assert _ids(first) + _ids(second) + _ids(rest) == everything
    with pytest.raises(ValueError, match="limit"):
        store.ai.list_models(limit=0)


# -- AI usage: new fields, summaries, the budget's spend -----------------------------------------


def test_ai_usage_keeps_run_node_and_duration(store: Store, alice: Scope) -> None:
    run = store.executions.create(alice)
    at = datetime(2024, 7, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    usage = store.ai.add_usage(
        alice,
        model="openai/gpt-4o-mini",
        prompt_tokens=12,
        completion_tokens=34,
        cost=0.0000222,
        execution_id=run.id,
        workflow_id="daily-digest",
        node_path="/workflow/2/ask-ai",
        duration_ms=812.5,
        created_at=at,
    )
    (listed,) = store.ai.list_usage(alice).items
    assert listed == usage
    assert (listed.workflow_id, listed.node_path, listed.duration_ms) == (
        "daily-digest",
        "/workflow/2/ask-ai",
        812.5,
    )
    assert listed.created_at == at


def test_usages_are_added_together_or_not_at_all(store: Store, alice: Scope, bob: Scope) -> None:
    at = datetime(2024, 7, 1, tzinfo=UTC)
    rows = [
        AiUsage(new_id(), owner.user_id, "m", 1, 2, 0.5, created_at=at) for owner in (alice, bob)
    ]
    store.ai.add_usages(rows)
    assert [u.id for u in store.ai.list_usage(alice).items] == [rows[0].id]
    assert [u.id for u in store.ai.list_usage(bob).items] == [rows[1].id]
    ghost = AiUsage(new_id(), "no-such-user", "m", 1, 2, 0.5, created_at=at)
    with pytest.raises(RecordNotFoundError):
        store.ai.add_usages([AiUsage(new_id(), alice.user_id, "m", 1, 1, 1.0), ghost])
    assert len(store.ai.list_usage(alice).items) == 1, "nothing of the failed group was kept"
    store.ai.add_usages([])


def test_ai_usage_summary(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    day1 = datetime(2024, 8, 1, 0, 0, 0, tzinfo=UTC)
    day2 = datetime(2024, 8, 2, 23, 59, 59, 999_999, tzinfo=UTC)
    add = store.ai.add_usage
    add(alice, model="m1", prompt_tokens=100, completion_tokens=20, cost=0.5, created_at=day1)
    add(alice, model="m2", prompt_tokens=10, completion_tokens=5, cost=0.25, created_at=day1)
    add(alice, model="m1", prompt_tokens=1, completion_tokens=2, cost=0.125, created_at=day2)
    add(bob, model="m1", prompt_tokens=1000, completion_tokens=1000, cost=9.0, created_at=day2)
    before = day1 - timedelta(microseconds=1)
    add(alice, model="m3", prompt_tokens=1, completion_tokens=1, cost=1.0, created_at=before)

    window = {"since": day1, "until": day2 + timedelta(microseconds=1)}
    by_model = store.ai.usage_summary(alice, by="model", **window)
    assert [(g.key, g.requests, g.prompt_tokens, g.completion_tokens) for g in by_model] == [
        ("m1", 2, 101, 22),
        ("m2", 1, 10, 5),
    ]
    assert by_model[0].cost == pytest.approx(0.625) and by_model[0].label is None
    by_day = store.ai.usage_summary(alice, by="day", **window)
    assert [(g.key, g.requests) for g in by_day] == [("2024-08-01", 2), ("2024-08-02", 1)]
    assert by_day[0].cost == pytest.approx(0.75)
    # until is exclusive: the last microsecond of day 2 is left out
    assert [g.key for g in store.ai.usage_summary(alice, by="day", since=day1, until=day2)] == [
        "2024-08-01"
    ]
    # a user sees only their own rows, whatever they group by
    (own,) = store.ai.usage_summary(bob, by="user")
    assert (own.key, own.label, own.requests) == (bob.user_id, "bob", 1)
    # an admin sees everyone, or one user
    everyone = {g.key: g for g in store.ai.usage_summary(admin, by="user", **window)}
    assert set(everyone) == {alice.user_id, bob.user_id}
    assert (everyone[alice.user_id].label, everyone[alice.user_id].requests) == ("alice", 3)
    only_bob = store.ai.usage_summary(admin, by="model", user_id=bob.user_id)
    assert [(g.key, g.cost) for g in only_bob] == [("m1", pytest.approx(9.0))]
    # a non-admin asking for someone else gets nothing of theirs
    assert store.ai.usage_summary(alice, by="model", user_id=bob.user_id) == []
    assert store.ai.usage_summary(alice, by="model", since=day2 + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="grouped by"):
        store.ai.usage_summary(alice, by="week")  # type: ignore[arg-type]


def test_ai_spent_since_is_the_owners_alone(store: Store, alice: Scope, admin: Scope) -> None:
    month = datetime(2024, 8, 1, tzinfo=UTC)
    add = store.ai.add_usage
    add(alice, model="m", prompt_tokens=1, completion_tokens=1, cost=0.25, created_at=month)
    add(alice, model="m", prompt_tokens=1, completion_tokens=1, cost=0.5,
        created_at=month + timedelta(days=30))  # fmt: skip
    add(alice, model="m", prompt_tokens=1, completion_tokens=1, cost=4.0,
        created_at=month - timedelta(microseconds=1))  # July  # fmt: skip
    add(admin, model="m", prompt_tokens=1, completion_tokens=1, cost=100.0, created_at=month)
    assert store.ai.spent_since(alice.user_id, month) == pytest.approx(0.75)
    assert store.ai.spent_since(alice.user_id, month - timedelta(days=1)) == pytest.approx(4.75)
    assert store.ai.spent_since(admin.user_id, month) == pytest.approx(100.0)
    assert store.ai.spent_since("nobody", month) == 0.0
