"""Alembic environment: run with the connection notifyd hands over (see store.migrate)."""

from alembic import context

from notifyd.db.schema import compare_type, include_name, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=compare_type,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
