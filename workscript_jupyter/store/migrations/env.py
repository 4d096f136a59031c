"""Alembic's environment, run by every migration command.

``store.migrate`` hands over one open connection (in ``config.attributes``) and Alembic runs on
it; there is no offline (``--sql``) mode and no ini file. The comparison options come from
``migrate.context_options`` so autogenerate and the drift test judge the schema alike.
"""

from __future__ import annotations

from alembic import context

from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.store.migrate import context_options


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode() or connection is None:
        raise ConfigurationError(
            "the workscript migrations run on a connection: use workscript_jupyter.store.migrate "
            "or `workscript db upgrade`, not the alembic command"
        )
    context.configure(connection=connection, **context_options(connection))
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
