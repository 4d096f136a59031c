"""``workscript secrets rotate`` on a real SQLite database: every connection re-encrypted under
the first key (the old key can then be dropped), and a clear refusal without a key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from workscript_jupyter.auth.secret_box import SecretBox
from workscript_jupyter.cli import main
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.records import Integration, Scope
from workscript_jupyter.store.sql import SqlStore


def test_rotate_re_encrypts_under_the_new_key(
    store: SqlStore,
    connect: Callable[..., Integration],
    alice: Caller,
    secret_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = connect(alice)
    plain = SecretBox.from_setting(secret_key).decrypt(row.refresh_token_encrypted or "")
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("WORKSCRIPT_SECRET_KEY", f"{new_key},{secret_key}")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert main(["secrets", "rotate", "--db-url", url]) == 0
    assert "re-encrypted 1 connection(s)" in capsys.readouterr().out
    after = store.integrations.get(Scope(alice.user.id), row.id)
    assert SecretBox.from_setting(new_key).decrypt(after.refresh_token_encrypted or "") == plain

    # the old key alone no longer opens the rows: the command says which, and fails
    monkeypatch.setenv("WORKSCRIPT_SECRET_KEY", secret_key)
    assert main(["secrets", "rotate", "--db-url", url]) == 1
    assert row.id in capsys.readouterr().err


def test_rotate_without_a_key_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WORKSCRIPT_SECRET_KEY", raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    assert main(["secrets", "rotate", "--db-url", url]) == 2
    assert "set WORKSCRIPT_SECRET_KEY" in capsys.readouterr().err
