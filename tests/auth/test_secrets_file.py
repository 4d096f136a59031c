"""The generated secrets of a single-user server: made once, private, stable, and the same for
two processes that start at once."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.auth import SECRET_NAMES, load_or_create_secrets
from workscript_jupyter.errors import ConfigurationError

FILE = "workscript_secrets.json"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_made_once_private_and_stable(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "jupyter"  # missing: made
    first = load_or_create_secrets(directory)
    assert (
        set(first)
        == set(SECRET_NAMES)
        == {
            "jwt_secret",
            "jwt_refresh_secret",
            "session_secret",
        }
    )
    assert all(len(value) == 64 for value in first.values())  # token_urlsafe(48)
    assert len(set(first.values())) == 3
    path = directory / FILE
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == first
    assert load_or_create_secrets(directory) == first
    assert load_or_create_secrets(directory) == first
    # no temp file left behind
    assert sorted(p.name for p in directory.iterdir()) == [".workscript_secrets.lock", FILE]


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_exactly_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        load_or_create_secrets(tmp_path)
    finally:
        os.umask(old)
    assert mode(tmp_path / FILE) == 0o600


def test_missing_names_are_added_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / FILE
    kept = "k" * 40
    path.write_text(json.dumps({"jwt_secret": kept, "other": "value"}))
    path.chmod(0o600)
    secrets = load_or_create_secrets(tmp_path)
    assert secrets["jwt_secret"] == kept and secrets["other"] == "value"
    assert set(secrets) == {*SECRET_NAMES, "other"}
    assert json.loads(path.read_text()) == secrets
    assert mode(path) == 0o600


def test_a_file_others_can_read_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = load_or_create_secrets(tmp_path)
    path = tmp_path / FILE
    path.chmod(0o644)
    with caplog.at_level(logging.DEBUG, logger="workscript_jupyter.auth"):
        assert load_or_create_secrets(tmp_path) == secrets
    assert mode(path) == 0o600
    assert "readable by others (mode 0644)" in caplog.text
    assert str(path) in caplog.text
    for value in secrets.values():
        assert value not in caplog.text


def test_secrets_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="workscript_jupyter.auth"):
        secrets = load_or_create_secrets(tmp_path)
    assert "generated the workscript secrets" in caplog.text
    for value in secrets.values():
        assert value not in caplog.text


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"jwt_secret": "SECRET-VALUE-1234567890-abcdefghij", ', "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        ('["SECRET-VALUE-1234567890-abcdefghij"]', "must hold a JSON object"),
        ('{"jwt_secret": 12345}', "'jwt_secret' .* must be a string"),
        ('{"jwt_secret": "SECRET-VALUE"}', "'jwt_secret' .* shorter than 32"),
    ],
)
def test_an_invalid_file_names_its_path_and_not_its_content(
    tmp_path: Path, content: str | bytes, match: str
) -> None:
    path = tmp_path / FILE
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match=match) as caught:
        load_or_create_secrets(tmp_path)
    assert str(path) in caught.value.message
    assert "SECRET-VALUE" not in caught.value.message
    assert path.read_bytes() == (content.encode() if isinstance(content, str) else content)


def test_an_unreadable_file_names_its_path(tmp_path: Path) -> None:
    (tmp_path / FILE).mkdir()  # root reads any file: a directory cannot be read as one
    with pytest.raises(ConfigurationError, match="is not a regular file") as caught:
        load_or_create_secrets(tmp_path)
    assert str(tmp_path / FILE) in caught.value.message


def test_a_directory_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match=r"cannot read .*: Not a directory") as caught:
        load_or_create_secrets(tmp_path / "file" / "data")
    assert str(tmp_path / "file" / "data" / FILE) in caught.value.message


# -- two processes at once ----------------------------------------------------------------------


def _create_in_turn(directories: list[str], barrier: Any, results: Any) -> None:
    for directory in directories:
        barrier.wait(timeout=60)
        results.put((directory, load_or_create_secrets(Path(directory))))


def test_two_processes_creating_at_once_agree(tmp_path: Path) -> None:
    # two processes (spawned: no fork of a pytest process with threads) meet at a barrier
    # before each of 20 fresh directories, so both reach the missing file within microseconds;
    # without the lock, most rounds end with each process holding secrets of its own
    context = multiprocessing.get_context("spawn")
    directories = [str(tmp_path / f"round-{n}") for n in range(20)]
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_create_in_turn, args=(directories, barrier, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    seen: dict[str, list[dict[str, str]]] = {}
    for _ in range(2 * len(directories)):
        directory, secrets = results.get(timeout=120)
        seen.setdefault(directory, []).append(secrets)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    lost = [d for d, got in seen.items() if got[0] != got[1]]
    assert not lost, f"{len(lost)} of 20 rounds: the two processes read different secrets"
    for directory, got in seen.items():
        assert load_or_create_secrets(Path(directory)) == got[0]
