"""The AI settings of the server extension, as ``WorkscriptApp`` traits.

Kept apart from app.py, as ``account_traits.py`` is: ``WorkscriptApp`` inherits them and they
are configured as ``c.WorkscriptApp.<name>``. When a trait is not configured, the original's
environment variable fills it (``OPENROUTER_API_KEY``, ``OPENROUTER_BASE_URL``,
``AI_REQUEST_TIMEOUT``, ``OPENROUTER_SITE_URL``, ``OPENROUTER_SITE_NAME``,
``AI_MODEL_SYNC_INTERVAL``). ``ai_settings`` checks them and builds the service's
``AiSettings``; a bad value stops the server with the setting's name (never its value when it
is the key).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from traitlets import Float, HasTraits, Unicode, default

from ..errors import ConfigurationError
from ..integrations.openrouter_types import DEFAULT_BASE_URL, AIConfig
from ..service.ai import AiSettings
from ..service.ai_catalogue import SYNC_LOCK
from .bad_settings import built_or_stop

__all__ = ["AiTraits"]

log = logging.getLogger(__name__)


def _env_str(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _env_float(name: str, fallback: float) -> float:
    raw = _env_str(name)
    if raw is None:
        return fallback
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(
            f"the environment variable {name} must be a number of seconds, not {raw!r}"
        ) from None


class AiTraits(HasTraits):
    openrouter_api_key = Unicode(
        None,
        allow_none=True,
        help=(
            "The OpenRouter API key the server's AI calls use (ask-ai, the model catalogue). "
            "Unset: OPENROUTER_API_KEY; none: AI is off (ask-ai takes its error edge, "
            "/workscript/ai/models/sync answers 503 MISSING_API_KEY). Never logged or shown."
        ),
    ).tag(config=True)

    @default("openrouter_api_key")
    def _openrouter_api_key(self) -> str | None:
        return _env_str("OPENROUTER_API_KEY")

    openrouter_base_url = Unicode(
        help=(
            "The provider's API root, any OpenAI-compatible gateway (OPENROUTER_BASE_URL; "
            f"{DEFAULT_BASE_URL})."
        )
    ).tag(config=True)

    @default("openrouter_base_url")
    def _openrouter_base_url(self) -> str:
        return (_env_str("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    ai_request_timeout = Float(
        help="Seconds an AI request may take, per attempt (AI_REQUEST_TIMEOUT; 30)."
    ).tag(config=True)

    @default("ai_request_timeout")
    def _ai_request_timeout(self) -> float:
        return _env_float("AI_REQUEST_TIMEOUT", 30.0)

    openrouter_site_url = Unicode(
        None, allow_none=True, help="Sent as HTTP-Referer to OpenRouter (OPENROUTER_SITE_URL)."
    ).tag(config=True)

    @default("openrouter_site_url")
    def _openrouter_site_url(self) -> str | None:
        return _env_str("OPENROUTER_SITE_URL")

    openrouter_site_name = Unicode(
        None, allow_none=True, help="Sent as X-Title to OpenRouter (OPENROUTER_SITE_NAME)."
    ).tag(config=True)

    @default("openrouter_site_name")
    def _openrouter_site_name(self) -> str | None:
        return _env_str("OPENROUTER_SITE_NAME")

    ai_model_sync_interval = Float(
        help=(
            "Seconds between syncs of the AI model catalogue from the provider "
            "(AI_MODEL_SYNC_INTERVAL; 86400). With several servers on one database exactly one "
            "of them syncs per interval. 0: no background sync (admins may still sync on demand)."
        )
    ).tag(config=True)

    @default("ai_model_sync_interval")
    def _ai_model_sync_interval(self) -> float:
        return _env_float("AI_MODEL_SYNC_INTERVAL", 86_400.0)

    ai_monthly_budget_usd = Float(
        0.0,
        help=(
            "USD each user may spend on AI per calendar month (UTC), priced from the model "
            "catalogue; a completion asked for once it is spent is refused (429 "
            "BUDGET_EXCEEDED) until the month ends (AI_MONTHLY_BUDGET_USD). 0: no budget."
        ),
    ).tag(config=True)

    @default("ai_monthly_budget_usd")
    def _ai_monthly_budget_usd(self) -> float:
        return _env_float("AI_MONTHLY_BUDGET_USD", 0.0)

    def _ai_settings(
        self, *, db_url: str, redis_url: str | None, lock_dir: str | None
    ) -> AiSettings:
        """The service's ``AiSettings`` from these traits; a bad value stops the server
        (SystemExit naming the setting), as the accounts' settings do."""
        logger: Any = getattr(self, "log", log)
        return built_or_stop(
            logger,
            lambda: ai_settings(self, db_url=db_url, redis_url=redis_url, lock_dir=lock_dir),
        )


def ai_settings(
    traits: AiTraits, *, db_url: str, redis_url: str | None, lock_dir: str | None
) -> AiSettings:
    """``AiSettings`` from ``traits``: the client's configuration (None without a key), the
    sync interval, the budget, and the lock the servers of ``db_url`` share for the sync."""
    interval = traits.ai_model_sync_interval
    if not math.isfinite(interval) or interval < 0:
        raise ConfigurationError(
            f"ai_model_sync_interval must be >= 0 seconds (0: off), not {interval}"
        )
    budget = traits.ai_monthly_budget_usd
    if not math.isfinite(budget) or budget < 0:
        raise ConfigurationError(f"ai_monthly_budget_usd must be >= 0 (0: none), not {budget}")
    key = traits.openrouter_api_key
    config = None
    if key and key.strip():
        config = AIConfig(
            api_key=key.strip(),
            base_url=traits.openrouter_base_url.rstrip("/"),
            timeout=traits.ai_request_timeout,
            site_url=traits.openrouter_site_url or None,
            site_name=traits.openrouter_site_name or None,
        )
    # held through one sync at most: a Redis lock's TTL must outlast a slow /models call
    ttl = max(60.0, 4 * (config.timeout if config else 30.0) + 30.0)

    def sync_lock() -> Any:
        from ..scheduler.leader import leader_lock_for

        return leader_lock_for(
            db_url, redis_url=redis_url, name=SYNC_LOCK, lock_dir=lock_dir, ttl_seconds=ttl
        )

    return AiSettings(
        config=config,
        model_sync_interval=interval,
        monthly_budget_usd=budget,
        sync_lock=sync_lock,
    )
