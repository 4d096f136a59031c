"""Review of plugins: a plugin's health answer is shown to every signed-in caller
(``GET /workscript/plugins``, ``/workscript/health``), so the text it returns is masked of
credentials as its errors already are."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.plugins import Plugin, PluginHost, PluginRecord


def test_a_health_answers_text_is_masked_of_credentials() -> None:
    async def check(_context: Any) -> dict[str, Any]:
        return {
            "status": "degraded",
            "reason": "replica lag on mysql://svc:hunter2@db.internal/app",
            "auth": "token=abcdef123 rejected; api_key: sk-live-42",
        }

    record = PluginRecord(name="p", plugin=Plugin(name="p", health=check))
    (answer,) = asyncio.run(PluginHost([record]).health())
    assert answer == {
        "name": "p",
        "status": "degraded",
        "reason": "replica lag on mysql://svc:***@db.internal/app",
        "auth": "token=*** rejected; api_key: ***",
    }
