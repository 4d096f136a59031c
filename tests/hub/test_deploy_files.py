"""The deployment files in jupyter-config/: the example hub configuration, loaded the way a hub
loads it, with the settings the Zero to JupyterHub values give it (tests/hub/'s other modules run
the same file in a real hub)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "jupyter-config" / "jupyterhub_config.py"
VALUES = REPO / "jupyter-config" / "z2jh-values.yaml"


def load_example(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Config:
    for name in [name for name in list(__import__("os").environ) if name.startswith("WORKSCRIPT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Config()
    namespace: dict[str, Any] = {"get_config": lambda: config, "__file__": str(EXAMPLE)}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), namespace)
    return config


def resolved(value: Any, initial: Any) -> Any:
    """A value the example appended to or updated (a lazy value until the hub reads it)."""
    return value.get_value(initial) if hasattr(value, "get_value") else value


def services_of(config: Config) -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in resolved(config.JupyterHub.services, [])}


def z2jh_env() -> dict[str, str]:
    """The hub's environment in the Kubernetes values; secrets get stand-in values."""
    values = yaml.safe_load(VALUES.read_text())
    env: dict[str, str] = {}
    for name, value in values["hub"]["extraEnv"].items():
        env[name] = value if isinstance(value, str) else f"secret-{name.lower()}"
    return env


def test_the_values_mount_the_example_where_the_chart_loads_config_files() -> None:
    values = yaml.safe_load(VALUES.read_text())
    mount = values["hub"]["extraFiles"]["workscript"]["mountPath"]
    assert re.fullmatch(r"/usr/local/etc/jupyterhub/jupyterhub_config\.d/[\w-]+\.py", mount)
    assert values["hub"]["allowNamedServers"] is True
    assert "hub.extraFiles.workscript.stringData=jupyter-config/jupyterhub_config.py" in (
        VALUES.read_text()
    )


def test_every_variable_the_values_set_is_one_the_example_reads() -> None:
    read = set(re.findall(r'"(WORKSCRIPT_[A-Z_]+)"', EXAMPLE.read_text()))
    assert set(z2jh_env()) <= read, set(z2jh_env()) - read


def test_with_the_z2jh_values_the_hub_registers_external_replicas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_example(monkeypatch, z2jh_env())
    services = services_of(config)
    assert set(services) == {"workscript"}, "the chart's own culler, not the example's"
    service = services["workscript"]
    assert service["api_token"] == "secret-workscript_service_api_token"
    assert "command" not in service, "the hub must not start a service it only registers"
    assert service["url"] == "http://workscript:10101"
    # the hub's default redirect URI (a path on the hub's host), never the internal proxy URL
    assert "oauth_redirect_uri" not in service
    assert config.JupyterHub.allow_named_servers is True
    spawner_env = resolved(config.Spawner.environment, {})
    assert spawner_env == {"WORKSCRIPT_SERVICE_URL": "http://workscript:10101"}


def test_a_managed_service_gets_the_database_and_the_hub_url_and_culling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_example(
        monkeypatch,
        {"WORKSCRIPT_DB_URL": "mysql+pymysql://w@db/w", "WORKSCRIPT_HUB_URL": "http://hub:8000"},
    )
    services = services_of(config)
    service = services["workscript"]
    assert "--WorkscriptApp.role=service" in service["command"]
    assert service["environment"]["WORKSCRIPT_DB_URL"] == "mysql+pymysql://w@db/w"
    assert service["environment"]["WORKSCRIPT_HUB_URL"] == "http://hub:8000"
    assert "idle-culler" in services  # jupyterhub-idle-culler is installed with the tests
    assert "--timeout=3600" in services["idle-culler"]["command"]


def test_the_example_refuses_to_start_without_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="WORKSCRIPT_DB_URL"):
        load_example(monkeypatch, {})
