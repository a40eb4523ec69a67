"""Read shapes compiled once per process: the SQL of a fixed queryset, run with each request's values.

Django builds and compiles a queryset afresh every time it runs: it resolves every expression, then writes
the SQL. For the claim page's shape (three joins, the scale bounds, the corrections and the quote window as
subqueries and expressions, then the timeline with its evidence) that was most of the page's time on every
request, to write the same SQL with another slug in it. A PreparedQuery builds its queryset once (in the
first request of a process), with a placeholder for each value that varies, compiles it, and from then on runs
that SQL with the request's values in the placeholders' places. The rows become model instances through the
queryset's own iterable, as if the queryset had been evaluated: select_related objects, annotations and the
database converters as usual. The shape itself stays where it was written, in the QuerySet methods. And as
the SQL is fixed, PostgreSQL plans it once per connection too (execute_prepared).

A placeholder is a value no request can send (a string with a NUL, which PostgreSQL refuses in text; an id
below any bigint sequence's), found by value among the compiled parameters; a shape that does not pass one
through unchanged, or has it more than once, is refused the first time it is compiled.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from psycopg.types.numeric import Int8

# A placeholder of each kind of value: per name, so that two of them are never mistaken for each other.
_PLACEHOLDER_MAKERS: dict[type, Callable[[int, str], Any]] = {
    str: lambda index, name: f"\x00placeholder {name}\x00",
    int: lambda index, name: -(2**62) - index,
    # A time in the first days of year 1: no row of ours has one, and a signed cursor never holds one.
    datetime: lambda index, name: datetime(1, 1, 1 + index, tzinfo=UTC),
}
# How each kind of value is sent: an id always as a bigint, so that PostgreSQL sees one statement whatever
# its size (psycopg sends a plain int as the smallest integer type that holds it).
_SENT_AS: dict[type, Callable[[Any], Any]] = {str: str, int: Int8, datetime: lambda value: value}


def execute_prepared(
    connection: BaseDatabaseWrapper, sql: str, params: list[Any] | dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of `sql`, run as a prepared statement of the connection: planned the first time the
    connection runs it, and from then on only executed.

    Planning is most of what PostgreSQL does for a page's query: the claim page's two took about 3 ms a
    request planned every time, 0.3 ms prepared, on a busy machine. Django sends every query as text with its
    values written in (client-side binding), which PostgreSQL plans afresh and psycopg never prepares. Here the
    values go apart (server-side binding, Django's own ServerBindingCursor on the same connection), which
    psycopg prepares when the connection allows it: settings.DATABASES' prepare_threshold (0, unless
    DATABASE_PREPARED_STATEMENTS is off). The cursor is Django's all the same: the health check and
    reconnection, the query log that tests count, Django's database errors.

    While an execute wrapper is installed (django-pghistory's, around a request that may write: it puts its
    context before every statement that is not a SELECT, two statements in one text, which PostgreSQL
    cannot prepare), the statement goes as Django sends any other, unprepared.
    """
    if connection.execute_wrappers:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.cursor.close()
        cursor.cursor = ServerBindingCursor(connection.connection)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.queries_logged:
        # The query log (DEBUG, tests) asks a client-side cursor for the text it sent; this one sent none.
        connection.queries_log[-1]["sql"] = connection.ops.compose_sql(sql, params)
    return rows


def _remembered(get_converters: Callable[[list[Any]], dict]) -> Callable[[list[Any]], dict]:
    """A compiler's get_converters, worked out once per list of columns: the compiled select's columns are
    the same objects on every run (the field's from_db_value, the backend's converters), and finding their
    converters afresh was about a tenth of a prepared query's time in Python."""
    found: dict[tuple[int, ...], dict] = {}

    def remembered(expressions: list[Any]) -> dict:
        key = tuple(map(id, expressions))
        if key not in found:
            # The expressions are the compiler's own, alive as long as it is: their ids stay theirs.
            found[key] = get_converters(expressions)
        return found[key]

    return remembered


@dataclass(frozen=True)
class _Compiled:
    """A queryset compiled for one database: its SQL, its parameters, where the placeholders stand in them
    (name by position), and the compiler that knows the select's columns and converters."""

    queryset: QuerySet
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: dict[int, str]


class PreparedQuery:
    """`build(**placeholders)` returns the queryset; `PreparedQuery(build, slug=str)` names its parameters
    and their types. `.run(slug=...)` evaluates it: one query, never compiled again in this process.

    Run only what build() made: nothing may be chained onto the result (it is a list).
    """

    def __init__(self, build: Callable[..., QuerySet], **parameters: type) -> None:
        self.build = build
        self.kinds = parameters
        self.placeholders = {
            name: _PLACEHOLDER_MAKERS[kind](index, name)
            for index, (name, kind) in enumerate(parameters.items())
        }
        self._compiled: _Compiled | None = None

    def run(self, **values: Any) -> list[Model]:
        """The rows of the queryset with `values` in place of the placeholders. One query: a statement the
        database connection prepared the first time it ran it (execute_prepared)."""
        compiled = self._compiled or self._compile()
        params = list(compiled.params)
        for position, name in compiled.slots.items():
            params[position] = _SENT_AS[self.kinds[name]](values[name])
        connection = connections[compiled.queryset.db]
        rows = execute_prepared(connection, compiled.sql, params)
        if compiled.compiler.has_extra_select:
            rows = [row[: compiled.compiler.col_count] for row in rows]
        # The queryset's own iterable makes the model instances, from a copy of the compiled compiler (which
        # knows the select's columns and their converters) that hands it these rows as its results.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connection
        compiler.execute_sql = lambda *args, **kwargs: [rows]  # type: ignore[method-assign]
        queryset = compiled.queryset._chain()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(queryset._iterable_class(queryset))

    def _compile(self) -> _Compiled:
        queryset = self.build(**self.placeholders)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        compiler.get_converters = _remembered(compiler.get_converters)  # type: ignore[method-assign]
        slots: dict[int, str] = {}
        for name, placeholder in self.placeholders.items():
            found = [position for position, param in enumerate(params) if param == placeholder]
            if len(found) != 1:
                raise ValueError(f"The query has {len(found)} places for {name!r}, not one: {sql}")
            slots[found[0]] = name
        compiled = _Compiled(queryset=queryset, compiler=compiler, sql=sql, params=tuple(params), slots=slots)
        self._compiled = compiled
        return compiled
