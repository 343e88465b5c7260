"""Registry source: any database SQLAlchemy reaches, read with the operator's query."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from notifyd.config import SECRET_FIX, Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow
from notifyd.registry.columns import header_map


class SqlSource:
    name = "sql"

    def _url(self, cfg: Config) -> URL:
        raw = cfg.registry.url
        if not raw:
            raise ConfigError("registry.url", "missing", 'give a SQLAlchemy URL or "env:VARIABLE"')
        secret = is_secret_ref(raw)
        try:
            url = make_url(resolve_secret(raw, "registry.url") if secret else raw)
        except ArgumentError as exc:
            raise ConfigError(
                "registry.url", "is not a database URL",
                'write it as dialect+driver://user@host/database, e.g. "postgresql+psycopg://…"',
            ) from exc  # fmt: skip
        if url.password and not secret:
            raise ConfigError("registry.url", "holds a password in clear", SECRET_FIX)
        return url

    def describe(self, cfg: Config) -> str:
        return self._url(cfg).render_as_string(hide_password=True)

    def read(self, cfg: Config) -> Iterator[RawRow]:
        if not cfg.registry.query:
            raise ConfigError("registry.query", "missing", "give the SELECT that lists the permits")
        try:
            engine = create_engine(self._url(cfg))
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(
                "registry.url", f"cannot use it: {exc}", "install the database's driver"
            ) from exc
        try:
            with (
                engine.connect() as conn,
                conn.execution_options(stream_results=True, yield_per=2000).execute(
                    text(cfg.registry.query)
                ) as result,
            ):
                pick = header_map(list(result.keys()), cfg, "the registry query")
                for n, row in enumerate(result, start=1):
                    yield RawRow(n, pick(["" if v is None else str(v) for v in row]))
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc.__class__.__name__).splitlines()[0]
            raise ConfigError(
                "registry.query", f"the registry database refused it: {detail}",
                "check registry.url and run the query by hand",
            ) from exc  # fmt: skip
        finally:
            engine.dispose()


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [SqlSource()]
