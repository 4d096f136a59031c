"""``workscript users create`` and ``workscript keys create``, as whole processes."""

from __future__ import annotations

import subprocess
import sys

from workscript_jupyter.auth.api_keys import hash_api_key
from workscript_jupyter.auth.passwords import PasswordHasher
from workscript_jupyter.store.sql import SqlStore


def workscript(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"BCRYPT_ROUNDS": "4", "PATH": "/usr/bin:/bin"},
    )


def test_a_user_and_a_key_from_the_shell(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    made = workscript(
        "users", "create", "Ann@Example.org", "--admin", "--db-url", url, stdin="Correct-Horse-9\n"
    )
    assert made.returncode == 0, made.stderr
    assert "Correct-Horse-9" not in made.stdout + made.stderr
    key = workscript(
        "keys",
        "create",
        "--user",
        "ann@example.org",
        "--permission",
        "workflow:read",
        "--db-url",
        url,
    )
    assert key.returncode == 0, key.stderr
    secret = key.stdout.strip()
    assert secret.startswith("wks_live_") and secret not in key.stderr

    store = SqlStore.from_url(url)
    try:
        user = store.users.find(email="ann@example.org")
        assert user is not None and user.roles == ("admin",)
        assert PasswordHasher(4).verify_sync(
            "Correct-Horse-9", store.users.get_password_hash(user.id)
        )
        stored = store.credentials.find_api_key(hash_api_key(secret))
        assert stored is not None and stored.owner_id == user.id
        assert stored.scopes == ("workflow:read",)
        assert secret not in repr(stored)  # only the hash is kept
    finally:
        store.close()


def test_weak_passwords_and_unknown_owners_are_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    weak = workscript("users", "create", "bo@example.org", "--db-url", url, stdin="password\n")
    assert weak.returncode == 2 and "upper-case" in weak.stderr
    nobody = workscript("keys", "create", "--user", "nobody@example.org", "--db-url", url)
    assert nobody.returncode == 2 and "no workscript account" in nobody.stderr
    # a password is never an argument: there is no option to pass one
    argv = workscript("users", "create", "cy@example.org", "--password", "X", "--db-url", url)
    assert argv.returncode == 2 and "unrecognized arguments" in argv.stderr
