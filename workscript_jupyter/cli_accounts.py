"""``workscript users create`` and ``workscript keys create``: bootstrap a server's accounts
from the shell, with direct access to its database (whoever can run these can read the
database anyway).

- ``workscript users create EMAIL [--admin | --role ROLE] [--no-password]`` — the password is
  read from a prompt (twice) or, when stdin is not a terminal, from its first line; never from
  the command line, where other users of the machine could read it in the process list.
- ``workscript keys create --user EMAIL [--name NAME] [--permission P ...] [--expires-days N]
  [--rate-limit N]`` — prints the new key once, on stdout alone (so ``$(workscript keys create
  …)`` captures it); what it is stays on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_common import EXIT_OK

# the parsers are built on every `workscript` start: what the commands need is imported in them
__all__ = ["add_accounts_parsers", "run_keys_command", "run_users_command"]


def add_accounts_parsers(commands: Any) -> None:
    from .cli_worker import add_db_url_argument

    users = commands.add_parser("users", help="workscript accounts: create one from the shell")
    user_commands = users.add_subparsers(
        dest="users_command", metavar="USERS_COMMAND", required=True
    )
    create = user_commands.add_parser(
        "create", help="create a local account (password from a prompt or stdin, never argv)"
    )
    create.add_argument("email")
    role = create.add_mutually_exclusive_group()
    role.add_argument("--admin", action="store_true", help="give the account the admin role")
    role.add_argument("--role", choices=("admin", "user", "api"), default=None)
    create.add_argument("--name", default=None, help="display name")
    create.add_argument(
        "--no-password",
        action="store_true",
        help="no password: the account signs in after a password reset, or only uses API keys",
    )
    add_db_url_argument(create)

    keys = commands.add_parser("keys", help="API keys for external tools")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="KEYS_COMMAND", required=True)
    key = key_commands.add_parser("create", help="create an API key and print it once")
    key.add_argument("--user", required=True, metavar="EMAIL", help="the key's owner")
    key.add_argument("--name", default="cli", help="what the key is for")
    key.add_argument(
        "--permission",
        action="append",
        default=None,
        metavar="PERMISSION",
        help="a permission the key gets (repeat; default: all of its owner's), e.g. "
        "workflow:read, workflow:execute, execution:read, or workflow:*",
    )
    key.add_argument(
        "--expires-days",
        type=float,
        default=None,
        help="days until it expires (0: never; default: API_KEY_EXPIRY or 30)",
    )
    key.add_argument("--rate-limit", type=int, default=None, help="requests per hour")
    add_db_url_argument(key)


def _open_store(db_url: str | None) -> Any:
    from .store import migrate
    from .store.connection import create_store_engine, mask_url, resolve_db_url
    from .store.sql import SqlStore

    url = resolve_db_url(db_url)
    print(f"workscript: database {mask_url(url)}", file=sys.stderr)
    engine = create_store_engine(url)
    migrate.upgrade(engine)
    return engine, SqlStore(engine)


def _read_password() -> str:
    import getpass

    from .errors import BadRequestError

    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise BadRequestError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise BadRequestError("no password on stdin (or use --no-password)")
    return line


def run_users_command(args: argparse.Namespace) -> int:
    import asyncio

    from .auth.passwords import PasswordHasher, check_password_rules
    from .service.account_settings import env_int
    from .service.accounts import normalize_email
    from .service.user_admin import create_local_user

    email = normalize_email(args.email)
    password_hash = None
    if not args.no_password:
        password = _read_password()
        check_password_rules(password)
        password_hash = PasswordHasher(env_int("BCRYPT_ROUNDS", 12)).hash_sync(password)
    role = "admin" if args.admin else (args.role or "user")
    engine, store = _open_store(args.db_url)
    try:
        user = asyncio.run(
            create_local_user(store, email, password_hash, roles=(role,), name=args.name)
        )
    finally:
        engine.dispose()
    print(f"workscript: created {role} {user.email} (id {user.id})", file=sys.stderr)
    return EXIT_OK


def run_keys_command(args: argparse.Namespace) -> int:
    import asyncio

    from .errors import BadRequestError
    from .service.account_settings import AccountSettings, env_int
    from .service.accounts import normalize_email
    from .service.api_keys import ApiKeys
    from .service.values import Caller

    email = normalize_email(args.user, field="--user")
    settings = AccountSettings(
        api_key_expiry_days=env_int("API_KEY_EXPIRY", 30),
        api_key_rate_limit=env_int("API_KEY_RATE_LIMIT", 1000),
    )
    body: dict[str, Any] = {"name": args.name}
    if args.permission is not None:
        body["permissions"] = args.permission
    if args.expires_days is not None:
        body["expiresInDays"] = args.expires_days
    if args.rate_limit is not None:
        body["rateLimit"] = args.rate_limit
    engine, store = _open_store(args.db_url)
    try:
        user = store.users.find(email=email)
        if user is None:
            raise BadRequestError(f"no workscript account has the email {email!r}")
        created = asyncio.run(
            ApiKeys(store, authenticator=None, settings=settings).create(Caller.of(user), body)
        )
    finally:
        engine.dispose()
    key = created.key
    expiry = key.expires_at.isoformat() if key.expires_at else "never"
    print(
        f"workscript: key {key.id} for {email}: {', '.join(key.scopes) or 'no permissions'}; "
        f"expires {expiry}. It is shown once: keep it now.",
        file=sys.stderr,
    )
    print(created.secret)
    return EXIT_OK
