"""Statements built and compiled once per shape, then run straight on the driver's cursor.

A jump or a find is one indexed seek that the database answers in tens of microseconds;
building the SQLAlchemy statement, computing its cache key and processing the result
cost ten times that. The hot lookups therefore describe each statement by a *shape* (the
kind, direction and which filters are present) and the values that fill it. The first
call of a shape builds the statement with named bind parameters and compiles it for the
engine; every later call passes only the values to the DB-API cursor. On PostgreSQL the
statement is also prepared on the server, so it is parsed once per connection; it is
planned for the values of each call (a word's or a label's frequency changes the best
plan), unless the caller says its plan cannot depend on them (``plan_once``).

Values go through the same bind and result processors SQLAlchemy would apply
(timestamps, for instance), so an answer is identical to a ``Connection.execute``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from eioku.storage.backend import LOOKUP_OPTION

Processor = Callable[[Any], Any] | None
# Key in a pooled connection's info: the plan_cache_mode its session is in.
PLAN_MODE = "eioku_plan_cache_mode"


@dataclass(slots=True)
class Prepared:
    """One compiled statement: its SQL, how to lay out values, how to read rows.

    ``variables`` are the parameters each call supplies; ``constants`` the values the
    statement was built with for every other parameter (literals inside expressions).
    Result processors depend on the column types the driver reports, so they are set
    from the first execution's cursor description.
    """

    sql: str
    names: tuple[str, ...] | None  # positional order of the parameters; None: by name
    variables: frozenset[str]
    constants: Mapping[str, Any]
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters converted on the way in
    types: tuple[TypeEngine[Any], ...]  # of the result columns
    dialect: Dialect
    prepare: bool  # ask the server to prepare it (PostgreSQL)
    plan_once: bool = False  # PostgreSQL: one generic plan per connection serves every call
    results: tuple[Processor, ...] | None = None  # per result column, once known
    described: bool = False

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it on ``conn``'s driver connection and return every row as a tuple.

        A connection found dead (the server restarted) is replaced once, so the first
        lookup after a restart still answers. Other driver errors are raised as
        SQLAlchemy's ``DBAPIError``, like any statement run through SQLAlchemy.

        Raises:
            ValueError: ``values`` does not name exactly the statement's variables.
        """
        if values.keys() != self.variables:
            raise ValueError(
                f"statement takes {sorted(self.variables)}, was given {sorted(values)}"
            )
        params = {**self.constants, **values}
        for name, process in self.binds:
            params[name] = process(params[name])
        args: Any = params if self.names is None else tuple(params[n] for n in self.names)
        dbapi = conn.dialect.loaded_dbapi
        for attempt in (1, 2):
            driver: Any = conn.connection.dbapi_connection
            cursor = driver.cursor()
            # Listeners of SQLAlchemy's cursor events still see the statement (logging,
            # tracing, the query-plan tests); there is no execution context to give them.
            conn.dispatch.before_cursor_execute(conn, cursor, self.sql, args, None, False)
            try:
                if self.prepare:
                    if conn.get_execution_options().get(LOOKUP_OPTION):
                        self._plan_mode(conn, cursor)
                    cursor.execute(self.sql, args, prepare=True)
                else:
                    cursor.execute(self.sql, args)
                found: list[tuple[Any, ...]] = cursor.fetchall()
                conn.dispatch.after_cursor_execute(conn, cursor, self.sql, args, None, False)
                if not self.described:
                    self._describe(cursor.description)
            except dbapi.Error as exc:
                if attempt == 1 and conn.dialect.is_disconnect(exc, driver, cursor):
                    conn.invalidate(exc)
                    continue
                raise DBAPIError.instance(self.sql, args, exc, dbapi.Error) from exc
            finally:
                cursor.close()
            return found if self.results is None else [self._convert(row) for row in found]
        raise AssertionError("unreachable")  # pragma: no cover

    def _plan_mode(self, conn: Connection, cursor: Any) -> None:
        """Switch the session's ``plan_cache_mode`` to this statement's, when it differs.

        Only on the lookup engine's connections (which start with custom plans), so no
        other work ever runs under a mode set here. A statement planned once keeps its
        generic plan for the connection's life; a switch costs a round trip only when
        consecutive statements on one connection want different modes.
        """
        wanted = "force_generic_plan" if self.plan_once else "force_custom_plan"
        info = conn.connection.info
        if info.get(PLAN_MODE) != wanted:
            sql = f"SET plan_cache_mode = {wanted}"
            conn.dispatch.before_cursor_execute(conn, cursor, sql, (), None, False)
            cursor.execute(sql)
            conn.dispatch.after_cursor_execute(conn, cursor, sql, (), None, False)
            info[PLAN_MODE] = wanted

    def _describe(self, description: Sequence[Sequence[Any]]) -> None:
        """Choose each column's result processor from the type code the driver reports."""
        dialect = self.dialect
        processors = tuple(
            kind.dialect_impl(dialect).result_processor(dialect, column[1])
            for kind, column in zip(self.types, description, strict=True)
        )
        self.results = processors if any(p is not None for p in processors) else None
        self.described = True

    def _convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        assert self.results is not None
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(row, self.results, strict=True)
        )


class StatementCache:
    """The compiled statements of one engine, by shape. Safe to share between threads."""

    def __init__(self, dialect: Dialect, size: int = 1_000) -> None:
        self._dialect = dialect
        self.size = size  # shapes kept; queries with many phrases are shapes of their own
        self._prepared: dict[Hashable, Prepared] = {}
        self._lock = threading.Lock()

    def rows(
        self,
        conn: Connection,
        shape: Hashable,
        build: Callable[[], Select[Any]],
        values: Mapping[str, Any],
        *,
        plan_once: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Run the statement of ``shape`` with ``values``; ``build`` makes it the first time.

        ``build`` must give every value of ``values`` a bind parameter of that name (with
        or without a value) and nothing else that differs between calls of one shape.
        ``plan_once``: the best plan does not depend on the values (one index serves
        them all), so PostgreSQL may plan the statement once per connection.
        """
        prepared = self._prepared.get(shape)
        if prepared is None:
            prepared = self._compile(build(), frozenset(values), plan_once)
            with self._lock:
                if len(self._prepared) >= self.size:  # forget the oldest shape
                    self._prepared.pop(next(iter(self._prepared)), None)
                prepared = self._prepared.setdefault(shape, prepared)
        return prepared.rows(conn, values)

    def __len__(self) -> int:
        return len(self._prepared)

    def _compile(
        self, statement: Select[Any], variables: frozenset[str], plan_once: bool
    ) -> Prepared:
        dialect = self._dialect
        compiled = statement.compile(dialect=dialect)
        names = set(compiled.bind_names.values())
        if missing := variables - names:
            raise ValueError(f"the statement has no parameter(s) {sorted(missing)}")
        constants = {
            name: value
            for name, value in compiled.construct_params(_check=False).items()
            if name not in variables
        }
        binds = []
        for bind, name in compiled.bind_names.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((name, process))
        positional = compiled.positiontup
        return Prepared(
            sql=compiled.string,
            names=None if positional is None else tuple(positional),
            variables=variables,
            constants=constants,
            binds=tuple(dict(binds).items()),
            types=tuple(column.type for column in statement.selected_columns),
            dialect=dialect,
            prepare=dialect.name == "postgresql",
            plan_once=plan_once,
        )
