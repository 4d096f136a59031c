"""Three real ``jupyter server`` processes on one MariaDB database, started together with the
same OpenRouter key: the model catalogue is listed from the provider exactly once, and every
server serves it. (tests/server/test_ai_model_sync.py checks the same lock and freshness rule
with three services in one process, over many checks.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standins.openrouter import MODELS, OpenRouterStandIn

from .servers import Server, scratch_database, wait_until

pytestmark = pytest.mark.slow


def test_three_servers_started_together_sync_the_models_once(
    mysql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with scratch_database(mysql_url) as database, OpenRouterStandIn() as stand_in:
        monkeypatch.setenv("OPENROUTER_API_KEY", stand_in.key)
        monkeypatch.setenv("OPENROUTER_BASE_URL", stand_in.base_url)
        servers = [Server(f"ai{i}", database, tmp_path, logs) for i in (1, 2, 3)]
        try:
            for server in servers:
                server.launch()
            for server in servers:
                server.ready()

            def listed(server: Server) -> set[str]:
                reply = server.get("ai/models")
                assert reply.status_code == 200, reply.text
                return {model["id"] for model in reply.json()["items"]}

            expected = {m["id"] for m in MODELS}
            wait_until(lambda: all(listed(s) == expected for s in servers), 30)
            model_lists = [r for r in stand_in.requests if r["path"].endswith("/models")]
            assert len(model_lists) == 1, [r["path"] for r in stand_in.requests]
        finally:
            for server in servers:
                server.kill()
