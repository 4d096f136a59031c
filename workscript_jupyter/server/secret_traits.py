"""The key of secrets kept encrypted at rest: the ``secret_key`` trait and how the box is made.

``c.WorkscriptApp.secret_key`` (unset: ``WORKSCRIPT_SECRET_KEY``) lists the keys of the
``SecretBox`` (auth/secret_box.py), the first one encrypting; OAuth tokens are the first
secrets it keeps. It follows the JWT secrets (composition_accounts.py):

- set: checked at start; a key that is neither a Fernet key nor a 32+ character passphrase
  stops the server, naming the setting and the key's position, never the key;
- unset on a ``local`` server: generated once and kept as ``secret_key`` in the Jupyter data
  dir's ``workscript_secrets.json`` (mode 0600), so a restart still opens what was stored;
- unset on a ``service`` or ``client`` server (several processes that must share one key):
  no box, and the features that need one answer 503 naming the setting — the rest of the
  server works, as logins are off without JWT secrets.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from traitlets import HasTraits, Unicode, default

from ..auth.secret_box import SecretBox
from ..auth.secrets_file import SECRET_KEY_NAME, SECRETS_FILE_NAME, load_or_create_secrets

__all__ = ["SECRET_BOX_SETTING", "SecretTraits", "resolve_secret_box"]

SECRET_BOX_SETTING = "secret_box"  # its key in settings["workscript"]: None when not configured


class SecretTraits(HasTraits):
    secret_key = Unicode(
        None,
        allow_none=True,
        help=(
            "Encrypts secrets kept at rest (OAuth tokens): one or more keys separated by "
            "commas or spaces, the first encrypting, all decrypting (put a new key first to "
            "rotate). Each is a Fernet key or a passphrase of 32+ characters. Unset: "
            "WORKSCRIPT_SECRET_KEY; on a local server, generated once and kept in the Jupyter "
            "data dir (mode 0600)."
        ),
    ).tag(config=True)

    @default("secret_key")
    def _secret_key(self) -> str | None:
        return os.environ.get("WORKSCRIPT_SECRET_KEY") or None


def resolve_secret_box(
    configured: str | None, *, role: str, data_dir: str | None, log: logging.Logger
) -> SecretBox | None:
    """The box of the configured key, or of the one kept in the data dir on a local server;
    None on a shared server without a key. A bad key raises ConfigurationError."""
    if configured:
        return SecretBox.from_setting(configured)
    if role == "local" and data_dir:
        kept = load_or_create_secrets(Path(data_dir), (SECRET_KEY_NAME,))[SECRET_KEY_NAME]
        log.info("workscript: using the generated secret_key kept in %s", data_dir)
        where = Path(data_dir) / SECRETS_FILE_NAME
        return SecretBox.from_setting(kept, setting=f"the {SECRET_KEY_NAME!r} entry of {where}")
    log.warning(
        "workscript: no WORKSCRIPT_SECRET_KEY (c.WorkscriptApp.secret_key): what must be "
        "stored encrypted (OAuth connections) is off on this server"
    )
    return None
