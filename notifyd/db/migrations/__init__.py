"""Alembic migrations, applied at start and by `notifyd db upgrade`."""
