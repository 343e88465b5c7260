"""Registry source: any database SQLAlchemy reaches, read with the operator's query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from notifyd.config import SECRET_FIX, Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError, SourceUnreachable
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
                _connected(engine, self.describe(cfg)) as conn,
                conn.execution_options(stream_results=True, yield_per=2000).execute(
                    text(cfg.registry.query)
                ) as result,
            ):
                pick = header_map(list(result.keys()), cfg, "the registry query")
                for n, row in enumerate(result, start=1):
                    yield RawRow(n, pick(["" if v is None else str(v) for v in row]))
        except DBAPIError as exc:
            if exc.connection_invalidated:  # the connection was lost mid-read, not the query
                label = f"the registry database ({self.describe(cfg)})"
                raise SourceUnreachable(label, _detail(exc)) from exc
            raise _refused(exc) from exc
        except SQLAlchemyError as exc:
            raise _refused(exc) from exc
        finally:
            engine.dispose()


def _refused(exc: BaseException) -> ConfigError:
    return ConfigError(
        "registry.query", f"the registry database refused it: {_detail(exc)}",
        "check registry.url and run the query by hand",
    )  # fmt: skip


def _detail(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc.__class__.__name__).splitlines()[0]


@contextmanager
def _connected(engine: Any, label: str) -> Iterator[Any]:
    """A connection, or SourceUnreachable: a database that is down is no config error."""
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise SourceUnreachable(f"the registry database ({label})", _detail(exc)) from exc
    with conn:
        yield conn


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [SqlSource()]
