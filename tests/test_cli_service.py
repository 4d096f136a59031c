"""``workscript service``: the command it becomes, its environment, and what it says when the
hub's settings are missing (tests/hub/test_hub_replicas.py runs it for real behind a hub)."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from workscript_jupyter import cli_service
from workscript_jupyter.cli import main

TOKEN = "s3cret-service-token-0123456789"
HUB_SETTINGS = {
    "JUPYTERHUB_API_TOKEN": TOKEN,
    "JUPYTERHUB_API_URL": "http://hub.internal:8081/hub/api",
    "JUPYTERHUB_SERVICE_NAME": "workscript",
    "JUPYTERHUB_SERVICE_URL": "http://10.0.0.5:10101",
    "WORKSCRIPT_DB_URL": "mysql+pymysql://workscript:pw@db/workscript",
}
HUB_VARIABLES = (
    *HUB_SETTINGS,
    *cli_service.DERIVED,
    "JUPYTERHUB_BASE_URL",
    "WORKSCRIPT_HUB_URL",
)


class Execed(Exception):
    """Stands in for the process being replaced: execve never returns."""


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], dict[str, str]]]:
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> Any:
        calls.append((path, list(argv), dict(env)))
        raise Execed

    monkeypatch.setattr(os, "execve", fake_execve)
    for name in HUB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return calls


def set_hub_settings(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    for name, value in {**HUB_SETTINGS, **overrides}.items():
        monkeypatch.setenv(name, value)


def test_it_becomes_the_hubs_single_user_server_in_the_service_role(
    execs: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_hub_settings(monkeypatch)
    with pytest.raises(Execed):
        main(["service", "--allow-root", "--WorkscriptApp.server_id=replica-1", "--port", "9"])
    [(path, argv, env)] = execs
    assert path == sys.executable
    assert argv == [
        sys.executable,
        "-m",
        "jupyterhub.singleuser",
        "--WorkscriptApp.role=service",
        "--WorkscriptApp.single_user=False",
        "--allow-root",
        "--WorkscriptApp.server_id=replica-1",
        "--port",
        "9",
    ]
    assert {name: env[name] for name in HUB_SETTINGS} == HUB_SETTINGS
    # what the hub gives a service it starts, as the example configuration registers it
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/workscript/"
    assert env["JUPYTERHUB_CLIENT_ID"] == "service-workscript"
    # the hub's default redirect URI of a service: a path on the hub's own host
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == "/services/workscript/oauth_callback"
    said = capsys.readouterr()
    assert "http://10.0.0.5:10101/services/workscript/" in said.err
    assert TOKEN not in said.out + said.err


def test_the_derived_settings_follow_the_hub_and_never_override_what_is_set(
    execs: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_hub_settings(
        monkeypatch,
        JUPYTERHUB_SERVICE_NAME="flows",
        JUPYTERHUB_BASE_URL="/jhub/",
        JUPYTERHUB_CLIENT_ID="service-flows-custom",
    )
    with pytest.raises(Execed):
        main(["service"])
    [(_, argv, env)] = execs
    assert argv[-1] == "--WorkscriptApp.single_user=False"  # nothing added without arguments
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/jhub/services/flows/"
    assert env["JUPYTERHUB_CLIENT_ID"] == "service-flows-custom"
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == "/jhub/services/flows/oauth_callback"


def test_each_missing_setting_is_named_and_explained_and_the_token_never_shown(
    execs: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "   ")  # blank is as good as unset
    assert main(["service", "--allow-root"]) == 2
    assert execs == []
    said = capsys.readouterr()
    missing = [name for name in HUB_SETTINGS if name != "JUPYTERHUB_API_TOKEN"]
    for name in missing:
        assert f"  {name}: {cli_service.REQUIRED[name]}" in said.err
    assert "JUPYTERHUB_API_TOKEN" not in said.err  # it is set: not reported missing
    assert TOKEN not in said.out + said.err


def test_with_nothing_set_every_setting_is_missing(
    execs: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["service"]) == 2
    err = capsys.readouterr().err
    assert [name for name in cli_service.REQUIRED if f"  {name}: " in err] == list(HUB_SETTINGS)


def test_help_lists_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["service", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "jupyterhub.singleuser" in out and "--WorkscriptApp.role=service" in out
    for name in (*cli_service.REQUIRED, *cli_service.DERIVED):
        assert name in out


def test_other_commands_still_refuse_arguments_they_do_not_know(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "flow.json", "--allow-root"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --allow-root" in capsys.readouterr().err
