"""Registry source: any database SQLAlchemy reaches, read with the operator's query."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from notifyd.columns import header_map
from notifyd.config import Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow


class SqlSource:
    name = "sql"

    def _url(self, cfg: Config) -> str:
        raw = cfg.registry.url
        if not raw:
            raise ConfigError("registry.url", "missing", 'give a SQLAlchemy URL or "env:VARIABLE"')
        return resolve_secret(raw, "registry.url") if is_secret_ref(raw) else raw

    def describe(self, cfg: Config) -> str:
        return make_url(self._url(cfg)).render_as_string(hide_password=True)

    def read(self, cfg: Config) -> Iterator[RawRow]:
        if not cfg.registry.query:
            raise ConfigError("registry.query", "missing", "give the SELECT that lists the permits")
        engine = create_engine(self._url(cfg))
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                    text(cfg.registry.query)
                )
                columns = header_map(list(result.keys()), cfg, "the registry query")
                for n, row in enumerate(result, start=1):
                    yield RawRow(n, {c: "" if row[i] is None else str(row[i]) for i, c in columns})
        except SQLAlchemyError as exc:
            raise ConfigError(
                "registry.query", f"the registry database refused it: {exc.__class__.__name__}",
                "check registry.url and run the query by hand",
            ) from exc  # fmt: skip
        finally:
            engine.dispose()


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [SqlSource()]
