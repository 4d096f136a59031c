"""``workscript secrets rotate``: re-encrypt every stored secret (the Google connections'
tokens) under the first key of the secret key setting.

The keys are read as the server reads them: ``--secret-key-env NAME`` (default
``WORKSCRIPT_SECRET_KEY``), else the key a local server generated and kept in the Jupyter data
directory (``workscript_secrets.json``). See service/secret_rotation.py for the procedure;
docs/security.md for the admin's steps.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .cli_common import EXIT_FAILED, EXIT_OK

__all__ = ["add_secrets_parser", "run_secrets_command"]


def add_secrets_parser(commands: Any) -> None:
    secrets = commands.add_parser(
        "secrets", help="secrets kept encrypted in the database: re-encrypt under a new key"
    )
    actions = secrets.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    from .cli_worker import add_db_url_argument

    rotate = actions.add_parser(
        "rotate",
        help="re-encrypt every connection's tokens under the first key of WORKSCRIPT_SECRET_KEY",
        description="Put the new key first in WORKSCRIPT_SECRET_KEY and keep the old one after "
        "it (NEW,OLD), restart the servers, run this, then drop the old key.",
    )
    add_db_url_argument(rotate)
    rotate.add_argument(
        "--secret-key-env",
        metavar="NAME",
        default="WORKSCRIPT_SECRET_KEY",
        help="the environment variable holding the keys (default: WORKSCRIPT_SECRET_KEY)",
    )


def _box(env_name: str) -> Any:
    from jupyter_core.paths import jupyter_data_dir

    from .auth.secret_box import SecretBox
    from .auth.secrets_file import SECRET_KEY_NAME, SECRETS_FILE_NAME
    from .errors import ConfigurationError

    configured = os.environ.get(env_name, "").strip()
    if configured:
        return SecretBox.from_setting(configured, setting=env_name)
    kept = Path(jupyter_data_dir()) / SECRETS_FILE_NAME
    if kept.is_file():
        from .auth.secrets_file import load_or_create_secrets

        value = load_or_create_secrets(kept.parent, ()).get(SECRET_KEY_NAME)
        if value:
            return SecretBox.from_setting(value, setting=f"the {SECRET_KEY_NAME!r} entry of {kept}")
    raise ConfigurationError(
        f"no secret key: set {env_name} (the new key first, then the old ones)"
    )


def run_secrets_command(args: argparse.Namespace) -> int:
    from .service.secret_rotation import rotate_connection_secrets
    from .store.connection import mask_url, resolve_db_url
    from .store.sql import SqlStore

    box = _box(args.secret_key_env)
    url = resolve_db_url(args.db_url)
    print(f"workscript: database {mask_url(url)}", file=sys.stderr)
    store = SqlStore.from_url(url)
    try:
        report = rotate_connection_secrets(store, box)
    finally:
        store.close()
    print(f"re-encrypted {report.rotated} connection(s) under the first key")
    if report.busy:
        print(
            f"{len(report.busy)} connection(s) were being refreshed; run the command again: "
            + ", ".join(report.busy),
            file=sys.stderr,
        )
    if report.unreadable:
        print(
            f"{len(report.unreadable)} connection(s) hold tokens no configured key opens (put "
            "the old key back after the new one, or have their owners connect again): "
            + ", ".join(report.unreadable),
            file=sys.stderr,
        )
    return EXIT_FAILED if report.busy or report.unreadable else EXIT_OK
