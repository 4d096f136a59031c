"""``workscript service``: run the hub's Workscript service yourself, in the foreground.

With ``WORKSCRIPT_SERVICE_API_TOKEN`` in the hub's environment, the example hub configuration
(jupyter-config/jupyterhub_config.py) registers the service's URL and token but does not start
it: this command does, on this machine, as one replica or several on one database (they share
the scheduler's leader lock and its per-tick claims, docs/scheduler.md). It replaces itself with
``python -m jupyterhub.singleuser`` in the service role (``exec``: the same process, so SIGTERM
and SIGINT from systemd, a container runtime or Ctrl-C reach the server itself, which stops its
runs and kernels cleanly).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DERIVED",
    "REQUIRED",
    "add_service_parser",
    "missing_variables",
    "run_service",
    "service_command",
    "service_environment",
]

#: what the service cannot start without, and what each one is (the missing ones are named)
REQUIRED: dict[str, str] = {
    "JUPYTERHUB_API_TOKEN": "the service's hub API token (the hub's WORKSCRIPT_SERVICE_API_TOKEN)",
    "JUPYTERHUB_API_URL": "the hub's REST API, e.g. http://hub.internal:8081/hub/api",
    "JUPYTERHUB_SERVICE_NAME": "the service's name in the hub, workscript in the example",
    "JUPYTERHUB_SERVICE_URL": "where this replica listens, e.g. http://10.0.0.5:10101 (the hub "
    "registers WORKSCRIPT_SERVICE_URL: that URL or a load balancer in front of the replicas)",
    "WORKSCRIPT_DB_URL": "the shared Workscript database's SQLAlchemy URL, the hub's own value",
}

#: the hub's own choices for a service it starts, filled in when not set (see _derived)
DERIVED: dict[str, str] = {
    "JUPYTERHUB_SERVICE_PREFIX": "the path the proxy forwards: "
    "<JUPYTERHUB_BASE_URL>services/<name>/",
    "JUPYTERHUB_CLIENT_ID": "the service's OAuth client: service-<name>",
    "JUPYTERHUB_OAUTH_CALLBACK_URL": "the OAuth redirect URI the hub registered, exactly: "
    "the hub's default, <JUPYTERHUB_SERVICE_PREFIX>oauth_callback (a path on the hub's host)",
}


def _described(variables: Mapping[str, str]) -> str:
    indent = " " * 6
    return "\n".join(
        f"  {name}\n" + textwrap.fill(meaning, 88, initial_indent=indent, subsequent_indent=indent)
        for name, meaning in variables.items()
    )


def add_service_parser(commands: Any) -> None:
    description = (
        "Run the Workscript service of a JupyterHub in the foreground, for a hub whose "
        "environment has WORKSCRIPT_SERVICE_API_TOKEN (the example configuration then "
        "registers the service without starting it). This process becomes `python -m "
        "jupyterhub.singleuser --WorkscriptApp.role=service --WorkscriptApp.single_user=False` "
        "followed by the arguments given here (e.g. --ServerApp.root_dir=/srv/workscript "
        "--WorkscriptApp.server_id=replica-1 --allow-root), so SIGTERM and Ctrl-C reach the "
        "server. Start several on one database for replicas: one of them fires each cron "
        "tick, and another takes over if it dies."
    )
    commands.add_parser(
        "service",
        help="run the JupyterHub service yourself (one replica; see docs/jupyterhub.md)",
        description=textwrap.fill(description, 92),
        epilog=(
            f"required environment:\n{_described(REQUIRED)}\n\n"
            f"set from the others when unset:\n{_described(DERIVED)}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="workscript service [-h] [JUPYTER_SERVER_ARGUMENT ...]",
        allow_abbrev=False,  # every other option belongs to the server, even --h
    )


def missing_variables(environ: Mapping[str, str]) -> list[str]:
    return [name for name in REQUIRED if not environ.get(name, "").strip()]


def _derived(environ: Mapping[str, str]) -> dict[str, str]:
    """What the hub would give a service it starts, from what is set (never overriding it)."""
    name = environ["JUPYTERHUB_SERVICE_NAME"].strip()
    base = environ.get("JUPYTERHUB_BASE_URL", "").strip() or "/"
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX", "").strip() or (
        f"{base.rstrip('/')}/services/{name}/"
    )
    values = {
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        # the hub's default redirect URI of a service behind its proxy: a path the browser
        # reaches on the hub's own host (the service's internal URL it could not reach)
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
    }
    return {key: value for key, value in values.items() if not environ.get(key, "").strip()}


def service_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the derived variables filled in (the required ones must be there)."""
    return {**environ, **_derived(environ)}


def service_command(server_args: Sequence[str]) -> list[str]:
    """The argv the service runs: the hub's single-user server in the service role."""
    return [
        sys.executable,
        "-m",
        "jupyterhub.singleuser",
        "--WorkscriptApp.role=service",
        "--WorkscriptApp.single_user=False",
        *server_args,  # last: a replica's own flags win
    ]


def run_service(args: argparse.Namespace) -> int:
    from .cli_common import EXIT_INVALID

    missing = missing_variables(os.environ)
    if missing:
        lines = "\n".join(f"  {name}: {REQUIRED[name]}" for name in missing)
        print(
            f"workscript service: missing in the environment:\n{lines}\n"
            "(give every replica the same values, but its own JUPYTERHUB_SERVICE_URL; "
            "see workscript service --help)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    environment = service_environment(os.environ)
    command = service_command(args.server_args)
    print(
        f"workscript service: {environment['JUPYTERHUB_SERVICE_NAME']} on "
        f"{environment['JUPYTERHUB_SERVICE_URL']}{environment['JUPYTERHUB_SERVICE_PREFIX']}, "
        f"hub API {environment['JUPYTERHUB_API_URL']}",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    # exec, not a child: one process whose signals are the server's own (no forwarding needed)
    os.execve(command[0], command, environment)
    return EXIT_INVALID  # not reached: execve returns only by raising
