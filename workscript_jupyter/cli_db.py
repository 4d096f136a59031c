"""``workscript db upgrade | downgrade | current | history``: migrate the store's schema."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_common import EXIT_OK

__all__ = ["add_db_parser", "run_db_command"]


def add_db_parser(commands: Any) -> None:
    db = commands.add_parser("db", help="the workscript database: migrate its schema (Alembic)")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    from .cli_worker import add_db_url_argument

    target = argparse.ArgumentParser(add_help=False)
    add_db_url_argument(target)
    upgrade = db_commands.add_parser(
        "upgrade", parents=[target], help="migrate up to REVISION (default: head)"
    )
    upgrade.add_argument("revision", nargs="?", default="head", metavar="REVISION")
    downgrade = db_commands.add_parser(
        "downgrade", parents=[target], help="migrate down to REVISION (base: drop every table)"
    )
    downgrade.add_argument("revision", metavar="REVISION")
    db_commands.add_parser("current", parents=[target], help="print the database's revision")
    db_commands.add_parser("history", help="list the migrations, oldest first")


def run_db_command(args: argparse.Namespace) -> int:
    from .store import migrate

    head = migrate.head()
    if args.db_command == "history":
        for revision in reversed(migrate.revisions()):
            mark = " (head)" if revision.id == head else ""
            parent = revision.down_revision or "<base>"
            print(f"{parent} -> {revision.id}{mark}: {revision.message}")
        return EXIT_OK

    from .store.connection import create_store_engine, mask_url, resolve_db_url

    url = resolve_db_url(args.db_url)
    print(f"workscript: database {mask_url(url)}", file=sys.stderr)
    engine = create_store_engine(url)
    try:
        before = migrate.current(engine)
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            migrate.downgrade(engine, args.revision)
        after = migrate.current(engine)
    finally:
        engine.dispose()

    def describe(revision: str | None) -> str:
        if revision is None:
            return "base (no workscript tables)"
        return f"{revision} (head)" if revision == head else revision

    if args.db_command == "current":
        print(describe(after))
        if after != head:
            print(f"the newest revision is {head}: run `workscript db upgrade`", file=sys.stderr)
    elif before == after:
        print(f"already at {describe(after)}")
    else:
        print(f"{args.db_command}d from {describe(before)} to {describe(after)}")
    return EXIT_OK
