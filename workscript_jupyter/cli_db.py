"""``workscript db upgrade | downgrade | current | history``: migrate the store's schema.

``upgrade`` to the head also upgrades each installed plugin's tables (its own history, in its
own version table: docs/plugins.md) and ``current`` shows their revisions; a plugin that cannot
be loaded or migrated is reported and the command exits 1 after the others. ``downgrade`` and
``history`` are the core's only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_common import EXIT_FAILED, EXIT_OK

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
    plugins_ok = True
    try:
        before = migrate.current(engine)
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            migrate.downgrade(engine, args.revision)
        after = migrate.current(engine)

        def describe(revision: str | None) -> str:
            if revision is None:
                return "base (no workscript tables)"
            return f"{revision} (head)" if revision == head else revision

        if args.db_command == "current":
            print(describe(after))
            if after != head:
                print(
                    f"the newest revision is {head}: run `workscript db upgrade`", file=sys.stderr
                )
            plugins_ok = _current_plugins(engine)
        elif before == after:
            print(f"already at {describe(after)}")
        else:
            print(f"{args.db_command}d from {describe(before)} to {describe(after)}")
        if args.db_command == "upgrade" and args.revision in ("head", "heads"):
            plugins_ok = _upgrade_plugins(engine)  # after the core: their tables may refer to it
    finally:
        engine.dispose()
    return EXIT_OK if plugins_ok else EXIT_FAILED


def _installed_plugins() -> tuple[Any, bool]:
    """The installed plugins (a ``PluginHost``), and False when one could not be loaded (said
    on stderr: the command's own words, not a logged traceback)."""
    import logging

    from .plugins import PluginHost, load_plugins

    quiet = logging.getLogger("workscript.cli.plugins")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    host = PluginHost(load_plugins(logger=quiet), logger=quiet)
    for record in host.records:
        if not record.usable:
            print(f"workscript: plugin {record.name}: not loaded: {record.error}", file=sys.stderr)
    return host, all(record.usable for record in host.records)


def _upgrade_plugins(engine: Any) -> bool:
    host, ok = _installed_plugins()
    migrating = [r for r in host.usable() if r.plugin and r.plugin.migrations_path]
    before = {r.name: _plugin_revision(engine, r.name) for r in migrating}
    host.migrate(engine)
    for record in migrating:
        if not record.usable:
            print(f"workscript: plugin {record.name}: {record.error}", file=sys.stderr)
            ok = False
            continue
        reached = record.migration or ()
        after = _describe_branch(reached, record)
        if before[record.name] == reached:
            print(f"plugin {record.name}: already at {after}")
        else:
            was = _describe_branch(before[record.name], record)
            print(f"plugin {record.name}: upgraded from {was} to {after}")
    return ok


def _current_plugins(engine: Any) -> bool:
    host, ok = _installed_plugins()
    for record in host.usable():
        if record.plugin is not None and record.plugin.migrations_path is not None:
            revisions = _plugin_revision(engine, record.name)
            print(f"plugin {record.name}: {_describe_branch(revisions, record)}")
    return ok


def _plugin_revision(engine: Any, name: str) -> tuple[str, ...]:
    from .plugins import version_table
    from .store import migrate

    return migrate.branch_current(engine, version_table=version_table(name))


def _describe_branch(revisions: tuple[str, ...], record: Any) -> str:
    from .store import migrate

    if not revisions:
        return "base (no tables)"
    heads = set(migrate.branch_heads(record.plugin.migrations_path))
    shown = ", ".join(revisions)
    return f"{shown} (head)" if set(revisions) == heads else shown
