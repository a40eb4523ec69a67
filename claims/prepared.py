"""Read shapes compiled once per process: the SQL of a fixed queryset, run with each request's values.

Django builds and compiles a queryset afresh every time it runs: it resolves every expression, then writes
the SQL. For the claim page's shape (three joins, the scale bounds, the corrections and the quote window as
subqueries and expressions, then the timeline with its evidence) that was most of the page's time on every
request, to write the same SQL with another slug in it. A PreparedQuery builds its queryset once (in the
first request of a process), with a placeholder for each value that varies, compiles it, and from then on runs
that SQL with the request's values in the placeholders' places. The rows become model instances through the
queryset's own iterable, as if the queryset had been evaluated: select_related objects, annotations and the
database converters as usual. The shape itself stays where it was written, in the QuerySet methods.

A placeholder is a value no request can send (a string with a NUL, which PostgreSQL refuses in text; an id
below any bigint sequence's), found by value among the compiled parameters; a shape that does not pass one
through unchanged, or has it more than once, is refused the first time it is compiled.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

# A placeholder of each kind of value: per name, so that two of them are never mistaken for each other.
_PLACEHOLDER_MAKERS: dict[type, Callable[[int, str], Any]] = {
    str: lambda index, name: f"\x00placeholder {name}\x00",
    int: lambda index, name: -(2**62) - index,
}


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
        self.placeholders = {
            name: _PLACEHOLDER_MAKERS[kind](index, name)
            for index, (name, kind) in enumerate(parameters.items())
        }
        self._compiled: _Compiled | None = None

    def run(self, **values: Any) -> list[Model]:
        """The rows of the queryset with `values` in place of the placeholders. One query."""
        compiled = self._compiled or self._compile()
        params = list(compiled.params)
        for position, name in compiled.slots.items():
            # As the placeholder was adapted (an id as psycopg's Int8, a slug as a str).
            params[position] = type(params[position])(values[name])
        # A copy of the compiled compiler on this thread's connection, which answers with the SQL it wrote
        # (execute_sql asks for it), and a copy of the query whose compiler it is.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[compiled.queryset.db]
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, tuple(params))  # type: ignore[method-assign]
        queryset = compiled.queryset._chain()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(queryset._iterable_class(queryset))

    def _compile(self) -> _Compiled:
        queryset = self.build(**self.placeholders)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        slots: dict[int, str] = {}
        for name, placeholder in self.placeholders.items():
            found = [position for position, param in enumerate(params) if param == placeholder]
            if len(found) != 1:
                raise ValueError(f"The query has {len(found)} places for {name!r}, not one: {sql}")
            slots[found[0]] = name
        compiled = _Compiled(queryset=queryset, compiler=compiler, sql=sql, params=tuple(params), slots=slots)
        self._compiled = compiled
        return compiled
