"""The staff console: its own listener, sign-in, pages and search (see docs/console.md)."""
