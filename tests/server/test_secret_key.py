"""The server's secret_key: the SecretBox that keeps OAuth tokens encrypted at rest.

- A local server without WORKSCRIPT_SECRET_KEY generates one into the Jupyter data dir's
  secrets file (mode 0600) and builds its box from it; a restart reuses it, so what the first
  process encrypted the second one opens.
- A configured key is used as is and nothing is written; a bad one stops the server, naming
  the setting and never the key.
- A shared (``service``) server without a key has no box: it generates nothing, since several
  processes would each make their own.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from workscript_jupyter.auth.secret_box import SecretBox
from workscript_jupyter.server.secret_traits import SECRET_BOX_SETTING

from .conftest import server_config
from .test_accounts_redis import JupyterProcess
from .test_accounts_secrets import wait_for_verdict

SECRETS_FILE = "workscript_secrets.json"
CONFIGURED_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKSCRIPT_SECRET_KEY", raising=False)


class TestLocalServerGeneratesItsKey:
    async def test_the_box_comes_from_the_kept_key(
        self, workscript: dict[str, Any], jp_data_dir: Path
    ) -> None:
        box = workscript[SECRET_BOX_SETTING]
        assert isinstance(box, SecretBox)
        path = jp_data_dir / SECRETS_FILE
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        kept = json.loads(path.read_text())["secret_key"]
        assert len(kept) >= 32
        token = box.encrypt("refresh-token-1")
        assert SecretBox.from_setting(kept).decrypt(token) == "refresh-token-1"


class TestConfiguredKey:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
        monkeypatch.setenv("WORKSCRIPT_SECRET_KEY", CONFIGURED_KEY)
        return server_config(workscript_db_url)

    async def test_the_configured_key_is_used_and_nothing_is_generated(
        self, workscript: dict[str, Any], jp_data_dir: Path
    ) -> None:
        token = workscript[SECRET_BOX_SETTING].encrypt("access-token")
        assert SecretBox.from_setting(CONFIGURED_KEY).decrypt(token) == "access-token"
        path = jp_data_dir / SECRETS_FILE
        kept = json.loads(path.read_text()) if path.exists() else {}
        assert "secret_key" not in kept


class TestSharedServerWithoutKey:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        return server_config(workscript_db_url, role="service", single_user=False)

    async def test_no_box_and_no_generated_key(
        self, workscript: dict[str, Any], jp_data_dir: Path
    ) -> None:
        assert workscript[SECRET_BOX_SETTING] is None
        path = jp_data_dir / SECRETS_FILE
        assert not path.exists() or "secret_key" not in json.loads(path.read_text())


# -- real server processes: a restart, a bad key -------------------------------------------


@pytest.mark.slow  # two server processes, one after the other
def test_the_generated_key_is_kept_across_restarts(tmp_path: Path) -> None:
    options: dict[str, Any] = {"db_url": f"sqlite:///{tmp_path / 'w.sqlite'}"}
    first = JupyterProcess(tmp_path, **options).start()
    try:
        path = first.data_dir / SECRETS_FILE
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        kept = json.loads(path.read_text())
    finally:
        first.stop()
    key = kept["secret_key"]
    token = SecretBox.from_setting(key).encrypt("made before the restart")
    second = JupyterProcess(tmp_path, **options).start()
    try:
        assert json.loads(path.read_text()) == kept, "the restart made a new key"
        assert key not in first.log() + second.log(), "the generated key is in the log"
    finally:
        second.stop()
    assert SecretBox.from_setting(json.loads(path.read_text())["secret_key"]).decrypt(token) == (
        "made before the restart"
    )


@pytest.mark.slow  # a server process
def test_a_bad_key_stops_the_server_naming_the_setting(tmp_path: Path) -> None:
    bad = f"{CONFIGURED_KEY},short-key-0042"
    server = JupyterProcess(
        tmp_path,
        env={"WORKSCRIPT_SECRET_KEY": bad},
        db_url=f"sqlite:///{tmp_path / 'w.sqlite'}",
    )
    server.launch()
    try:
        wait_for_verdict(server)
        log = server.log()
        assert "c.WorkscriptApp.secret_key (WORKSCRIPT_SECRET_KEY)" in log, log[-3000:]
        assert "key 2 of" in log
        assert "short-key-0042" not in log and CONFIGURED_KEY not in log
        assert server.process is not None and server.process.poll() not in (None, 0)
    finally:
        server.stop()


def test_the_key_never_reaches_a_kernel() -> None:
    from workscript_jupyter.runner.kernel_env import is_secret_name

    assert is_secret_name("WORKSCRIPT_SECRET_KEY")


def test_a_short_kept_key_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    import logging

    from workscript_jupyter.auth.secrets_file import load_or_create_secrets
    from workscript_jupyter.errors import ConfigurationError
    from workscript_jupyter.server.secret_traits import resolve_secret_box

    (tmp_path / SECRETS_FILE).write_text(json.dumps({"secret_key": "short-kept-key"}))
    os.chmod(tmp_path / SECRETS_FILE, 0o600)
    with pytest.raises(ConfigurationError, match=r"'secret_key' in .*shorter than 32") as caught:
        load_or_create_secrets(tmp_path, ("secret_key",))
    assert "short-kept-key" not in str(caught.value)
    with pytest.raises(ConfigurationError):
        resolve_secret_box(None, role="local", data_dir=str(tmp_path), log=logging.getLogger())


def test_an_unreadable_secret_answers_422_not_500() -> None:
    from workscript_jupyter.errors import SecretUnreadableError
    from workscript_jupyter.server.base import status_for

    assert status_for(SecretUnreadableError("unreadable")) == 422
