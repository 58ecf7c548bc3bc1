"""Alembic's environment: migrations run on the connection the server (or `hearing-server db upgrade`)
hands over in `config.attributes["connection"]` (recorder/db/database.py), never on a URL of their own."""

from __future__ import annotations

from alembic import context

from recorder.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with 'hearing-server db upgrade', which supplies the connection")
# Batch mode: SQLite alters a table by copying it, which Alembic does for us when a migration asks.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
