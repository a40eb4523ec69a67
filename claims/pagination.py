"""Paging for the public pages and the API: keyset cursors over a list's whole ordering, and the feed's `after`.

A list is ordered by a tuple of keys that ends with the id, so no two rows share a position. A page is the
rows after (or before) a position, found by comparing the whole tuple as one row value —
`WHERE (status_changed_at, id) < (%s, %s) ORDER BY status_changed_at DESC, id DESC LIMIT page_size + 1` —
which a btree index on the same columns serves: one query a page, page 1 and page 25,000 costing the same,
and no row seen twice or skipped however many rows tie on the first keys (DRF's CursorPagination keeps only
the first key and breaks ties with an offset capped at 1,000, so long ties loop).

A cursor is the position of the row it leads on from, the list it belongs to and the direction, as JSON
signed with the SECRET_KEY (django.core.signing): opaque to clients, and anything we did not sign — or a
signed cursor of another list — is refused (a 400 in the API, a 404 on pages), never a server error.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    Q,
    QuerySet,
    RowRange,
    Value,
    Window,
)
from django.db.models.expressions import Col, RawSQL
from django.db.models.functions import Coalesce, FirstValue, LastValue
from django.db.models.lookups import IsNull
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.datastructures import BaseTable, Join
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, WhereNode
from django.http import Http404, HttpRequest, QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from claims.models import UNDATED
from claims.prepared import PreparedQuery

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The largest value PostgreSQL's bigint holds: no id, and no page size, is above it.
MAX_BIGINT = 2**63 - 1
CURSOR_SALT = "claims.pagination.cursor"
INVALID_CURSOR = "Invalid or expired cursor."
# The longest string a cursor may hold (a speaker's name is at most 200 characters).
_MAX_CURSOR_TEXT = 1000


class InvalidCursor(Exception):
    """A cursor we did not make for this list."""


def whole_number(raw: str, *, low: int, high: int = MAX_BIGINT) -> int:
    """The number `raw` spells in ASCII digits, from low to high; ValueError for anything else.

    Digits are counted before int() reads them, so thousands of them are refused, not a server error
    (Python refuses to read an integer of more than 4,300 digits).
    """
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        raise ValueError(raw)
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(raw)
    return value


def page_size(params: QueryDict, *, default: int, maximum: int) -> int:
    """?page_size=: a whole number from 1 up (a larger one than `maximum` reads as `maximum`); absent or
    empty, `default`. Anything else raises ValueError with the message to show.
    """
    raw = params.get("page_size", "")
    if raw == "":
        return default
    try:
        return min(whole_number(raw, low=1), maximum)
    except ValueError:
        raise ValueError(f"Must be a whole number from 1 to {maximum}.") from None


# The orderings ---------------------------------------------------------------------------------------


class RowComparison(Func):
    """(a, b, c) < (x, y, z) — or > — in SQL: true for the rows after a position in a descending (or
    ascending) order. PostgreSQL reads the comparison as an index range on (a, b, c).
    """

    template = "(%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, columns: list[Expression], position: list[Any], *, operator: str) -> None:
        self.operator = operator
        self.width = len(columns)
        super().__init__(*columns, *(Value(value) for value in position))

    def as_sql(self, compiler, connection, **extra_context):  # type: ignore[override]
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        left, right = ", ".join(parts[: self.width]), ", ".join(parts[self.width :])
        return f"({left}) {self.operator} ({right})", params


@dataclass(frozen=True)
class Key:
    """One key of a list's order: the attribute that holds it on a row, its type in a cursor, and the
    expression that computes it when it is not a column (annotated onto the rows by Ordering.apply).
    """

    name: str
    kind: type
    expression: Expression | None = None


@dataclass(frozen=True)
class Ordering:
    """A list's order: keys compared as one row value, all in one direction, the last one unique (the id).

    No key may be NULL on a listed row: a NULL makes the row comparison unknown and the row would be
    skipped. Claims are listed once published, and claims_claim_status_has_time then requires
    status_changed_at; a source's missing date is replaced by UNDATED in its key.
    """

    name: str
    keys: tuple[Key, ...]
    descending: bool

    def apply(self, queryset: QuerySet, *, reverse: bool = False) -> QuerySet:
        """The queryset with the computed keys annotated and ordered by them (reversed to page back)."""
        computed = {key.name: key.expression for key in self.keys if key.expression is not None}
        if computed:
            queryset = queryset.annotate(**computed)
        descending = self.descending != reverse
        return queryset.order_by(
            *(F(key.name).desc() if descending else F(key.name).asc() for key in self.keys)
        )

    def after(self, position: list[Any], *, reverse: bool = False) -> RowComparison:
        """The condition for the rows after `position` in this order (before it, reversed)."""
        operator = "<" if self.descending != reverse else ">"
        return RowComparison([F(key.name) for key in self.keys], position, operator=operator)

    def position_of(self, row: Any) -> list[Any]:
        """The row's keys: a model instance's attributes, or a plain row's values (ClaimQuerySet.as_rows)."""
        if isinstance(row, dict):
            return [row[key.name] for key in self.keys]
        return [getattr(row, key.name) for key in self.keys]


# Latest status change first: claims_claim_latest_idx (and, after their first column, the speaker and
# status indexes of the filtered lists).
CLAIMS = Ordering("claims", (Key("status_changed_at", datetime), Key("id", int)), descending=True)
# Best match first within windows of the latest matches: see SearchWindows below.
# By name: claims_speaker_name_idx.
SPEAKERS = Ordering("speakers", (Key("name", str), Key("id", int)), descending=False)
# Newest publication first, undated sources last: claims_source_dated_idx.
SOURCES = Ordering(
    "sources", (Key("dated", date, Coalesce("published_on", Value(UNDATED))), Key("id", int)), descending=True
)


# Newest first: the primary key's index (claims_correction_claim_idx for one claim's).
CORRECTIONS = Ordering("corrections", (Key("id", int),), descending=True)


# A key's webhook endpoints, oldest first: claims_webhook_key_idx (key, id).
WEBHOOKS = Ordering("webhooks", (Key("id", int),), descending=False)


# Claims as of a past day (ClaimQuerySet.as_of): by their status change then, which the rows carry as an
# annotation. Lists of their own, with cursors of their own: a cursor of today's list holds a position in
# another order, so it is refused here (and the other way round). There is no index on a time computed per
# day asked about: the claims are sorted, so a page as of a day costs a scan of the published claims.
CLAIMS_AS_OF = Ordering("claims-as-of", (Key("as_of_changed_at", datetime), Key("id", int)), descending=True)
SEARCH_AS_OF = Ordering(
    "search-as-of",
    (Key("rank", float), Key("as_of_changed_at", datetime), Key("id", int)),
    descending=True,
)


def claim_ordering(queryset: QuerySet) -> Ordering:
    """By relevance when the claims are a search (ClaimQuerySet.search annotates `rank`), else latest first;
    as of a past day (ClaimQuerySet.as_of annotates `as_of_changed_at`), by the status change of that day."""
    annotations = queryset.query.annotations
    as_of = "as_of_changed_at" in annotations
    if "rank" in annotations:
        return SEARCH_AS_OF if as_of else SEARCH
    return CLAIMS_AS_OF if as_of else CLAIMS


# Cursors ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a list, and whether the page wanted is after it (forward) or before it (backward)."""

    position: list[Any]
    backward: bool = False

    def encode(self, ordering: Ordering) -> str:
        values = [value.isoformat() if isinstance(value, date) else value for value in self.position]
        return signing.dumps([ordering.name, "b" if self.backward else "f", values], salt=CURSOR_SALT)

    @classmethod
    def decode(cls, raw: str, ordering: Ordering) -> Cursor:
        """The cursor `raw` spells for this list. InvalidCursor when we did not sign it, or signed it for
        another list; its values are checked against the list's keys all the same.
        """
        try:
            payload = signing.loads(raw, salt=CURSOR_SALT)
        # RecursionError: JSON nested deeper than Python's parser goes.
        except (signing.BadSignature, ValueError, TypeError, zlib.error, RecursionError):
            raise InvalidCursor from None
        match payload:
            case [ordering.name, "f" | "b" as direction, list(values)] if len(values) == len(ordering.keys):
                position = [_read(value, key.kind) for value, key in zip(values, ordering.keys, strict=True)]
                return cls(position=position, backward=direction == "b")
        raise InvalidCursor


def _read(value: Any, kind: type) -> Any:
    """A cursor value as the key's type; InvalidCursor when it is not one PostgreSQL can compare."""
    if kind is date and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidCursor from None
    elif kind is datetime and isinstance(value, str):
        try:
            read = datetime.fromisoformat(value)
            # A time without an offset would be read in the connection's time zone: not one we wrote.
            # One with an offset goes to the database in UTC: PostgreSQL refuses offsets beyond ±15:59,
            # and one that is outside the years 1 to 9999 in UTC is not a time of ours either.
            if read.utcoffset() is not None:
                return read.astimezone(UTC)
        except (ValueError, OverflowError):
            raise InvalidCursor from None
    elif kind is float and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    elif _PLAIN_VALUES.get(kind, lambda value: False)(value):
        return value
    raise InvalidCursor


_PLAIN_VALUES = {
    int: lambda value: type(value) is int and 0 < value <= MAX_BIGINT,
    str: lambda value: isinstance(value, str) and len(value) <= _MAX_CURSOR_TEXT and _is_storable(value),
}


def _is_storable(text: str) -> bool:
    """True when PostgreSQL can compare the text: no NUL, and no lone surrogate (UTF-8 cannot hold one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# One page --------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of rows, and the cursors of the pages after and before it (None at either end)."""

    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def page_of(queryset: QuerySet, ordering: Ordering, *, cursor: str | None, size: int) -> Page:
    """The page of `queryset` that `cursor` points at (the first page without one), in `ordering`.

    One query: the queryset, ordered and limited to size + 1 rows (the extra one says whether more
    follow). Raises InvalidCursor.
    """
    at = Cursor.decode(cursor, ordering) if cursor else None
    if isinstance(ordering, SearchWindows):
        return ordering.page(queryset, at, size)
    backward = at is not None and at.backward
    rows = ordering.apply(queryset, reverse=backward)
    if at is not None:
        rows = rows.filter(ordering.after(at.position, reverse=backward))
    return _page_from(ordering, list(rows[: size + 1]), at, size, ordering.position_of)


# The pages of fixed shapes (prepared_page_of), compiled once per process: by shape, page size and direction.
_PREPARED_PAGES: dict[tuple[Any, ...], PreparedQuery] = {}


def prepared_page_of(shape: QuerySet, ordering: Ordering, *, cursor: str | None, size: int) -> Page:
    """page_of for a shape built once per process and never filtered by the request (the API's claim list
    with no filter asked, nearly every read of it): the same one query, but compiled once per page size and
    direction, and prepared on the connection (claims.prepared), the cursor's position its only values.
    Django would build and compile it, and PostgreSQL plan it, on every request. Raises InvalidCursor.
    """
    at = Cursor.decode(cursor, ordering) if cursor else None
    backward = at is not None and at.backward
    key = (shape, ordering.name, size, None if at is None else backward)
    query = _PREPARED_PAGES.get(key)
    if query is None:

        def build(**position: Any) -> QuerySet:
            rows = ordering.apply(shape.all(), reverse=backward)
            if at is not None:
                values = [position[key.name] for key in ordering.keys]
                rows = rows.filter(ordering.after(values, reverse=backward))
            return rows[: size + 1]

        kinds = {key.name: key.kind for key in ordering.keys} if at is not None else {}
        query = _PREPARED_PAGES[key] = PreparedQuery(build, **kinds)
    position = dict(zip((key.name for key in ordering.keys), at.position, strict=True)) if at else {}
    return _page_from(ordering, query.run(**position), at, size, ordering.position_of)


def _page_from(
    ordering: Ordering, rows: list[Any], at: Cursor | None, size: int, position: Callable[[Any], list[Any]]
) -> Page:
    """The page of `rows` (up to size + 1 of them, in the query's order: reversed going back), with the
    cursors to the pages around it, each the `position` of the row it leads on from."""
    backward = at is not None and at.backward
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    # Going forward from a cursor, its row is before this page; going back, it is after it.
    has_next, has_previous = (True, more) if backward else (more, at is not None)
    if not rows:
        return Page(rows=[], next_cursor=None, previous_cursor=None)
    return Page(
        rows=rows,
        next_cursor=Cursor(position(rows[-1])).encode(ordering) if has_next else None,
        previous_cursor=Cursor(position(rows[0]), backward=True).encode(ordering) if has_previous else None,
    )


# Search: relevance within windows of the latest matches -------------------------------------------------

# How many times the matches a page needs the walk down claims_claim_latest_idx may read before the matches
# are fetched from the GIN index instead (latest_matches).
SEARCH_WALK = 2
# The recency order of claims, as a row value: claims_claim_latest_idx.
_RECENCY = (F("status_changed_at"), F("id"))


@dataclass(frozen=True)
class SearchWindows(Ordering):
    """A search's order: best match first within windows of the latest matches.

    Ranking every match is what a search for a common word cannot afford: "change" matches most of a
    million claims, and ts_rank over all of them took ~650 ms for the first page. So the matches are cut,
    latest status change first, into windows of settings.SEARCH_WINDOW matches (at least a page and one),
    and ranked within each window: page 1 is the best of the latest window, and when a window is used up
    the next page goes on with the best of the window below it. A search with fewer matches than a window
    (a name, a rare word) is ranked as a whole, as before. Relevance stays meaningful (the
    best of the recent matches first) and a page costs the same at any depth: one window or two are
    ranked, never every match.

    The keys: a row's window (its first and last position by (status_changed_at, id), inclusive, and how
    many matches it held), then (rank, status_changed_at, id) within it. A cursor carries all of them, so
    every page of a window ranks the same rows, and the next window starts below the last one's bound (the
    one before, above its first): the windows are disjoint ranges of the recency order, and no match is
    seen twice or skipped, forward or back. One query a page (SearchWindows.page).
    """

    def page(self, queryset: QuerySet, at: Cursor | None, size: int) -> Page:
        """The page `at` points at (the first without it): the rest of the cursor's window after (or, going
        back, before) its position, then the window below (above) it, best match first in each.

        One query. The candidates are the cursor's window and the next one, by id (latest_matches); the
        outer query reads only them, ranks them and marks which window each is in (`beyond`), and window
        functions give the next window's bounds and size for the cursors.
        """
        window = max(settings.SEARCH_WINDOW, size + 1)
        backward = at is not None and at.backward
        current = at.position[:5] if at is not None else None
        if current is None:
            bound, beyond = None, Value(True)
        elif backward:
            # From the window's last row up: the window, then the matches above its first row.
            bound = RowComparison(list(_RECENCY), current[2:4], operator=">=")
            beyond = RowComparison(list(_RECENCY), current[0:2], operator=">")
        else:
            # From the window's first row down: the window, then the matches below its last row.
            bound = RowComparison(list(_RECENCY), current[0:2], operator="<=")
            beyond = RowComparison(list(_RECENCY), current[2:4], operator="<")
        candidates = latest_matches(
            queryset, bound, ascending=backward, count=(current[4] if current else 0) + window
        )
        rows = _only_rows(queryset, candidates).annotate(beyond=ExpressionWrapper(beyond, BooleanField()))
        if at is not None:
            within = RowComparison([F("rank"), *_RECENCY], at.position[5:], operator=">" if backward else "<")
            rows = rows.filter(Q(beyond=True) | Q(within))
        in_window = {
            "partition_by": [F("beyond")],
            "order_by": [F("status_changed_at").desc(), F("id").desc()],
            "frame": RowRange(start=None, end=None),
        }
        rows = rows.annotate(
            window_first_at=Window(FirstValue("status_changed_at"), **in_window),
            window_first_id=Window(FirstValue("id"), **in_window),
            window_last_at=Window(LastValue("status_changed_at"), **in_window),
            window_last_id=Window(LastValue("id"), **in_window),
            window_size=Window(Count("id"), **in_window),
        )
        keys = (F("rank"), *_RECENCY)
        rows = list(
            rows.order_by("beyond", *(key.asc() if backward else key.desc() for key in keys))[: size + 1]
        )

        def position(row: Any) -> list[Any]:
            # A model instance, or a plain row (ClaimQuerySet.as_rows).
            value = row.__getitem__ if isinstance(row, dict) else row.__getattribute__
            within = [value("rank"), value("status_changed_at"), value("id")]
            if value("beyond") or current is None:
                bounds = [
                    "window_first_at",
                    "window_first_id",
                    "window_last_at",
                    "window_last_id",
                    "window_size",
                ]
                return [*map(value, bounds), *within]
            return [*current, *within]

        return _page_from(self, rows, at, size, position)


def latest_matches(queryset: QuerySet, bound: Expression | None, *, ascending: bool, count: int) -> RawSQL:
    """The ids of the first `count` claims of `queryset` within `bound`, latest status change first (or
    earliest, ascending): a subquery, found one of two ways in the same statement.

    A common word is found by walking claims_claim_latest_idx and testing each claim, which finds `count`
    matches after a few more claims than that; a rare one, or two words, by the GIN index, its matches
    sorted by time. The planner, left to choose, walks the index for two words at a million claims too (it
    costs a walk as if every heap page it reads were cached: ~190 ms for "ceasefire memorandum", against
    ~25 ms from the GIN index), so the choice is made in the query: the walk reads at most SEARCH_WALK times
    `count` claims (`walked`, materialised once), and only when it found fewer than `count` matches does the
    sorted arm run (an uncorrelated condition, which PostgreSQL evaluates once, before the arm), ordered by
    an expression the index cannot give, so that it is sorted. Either way the ids are the same.

    Both arms are the queryset's own filters, compiled by Django; only the WITH around them is written
    here (Django has no common table expressions). Built as one RawSQL, the subquery is compiled once: as
    nested querysets, Django resolved and relabelled the search's conditions at every level (~3 ms a page).
    """
    order = [key.asc() if ascending else key.desc() for key in _RECENCY]
    # The filters alone: the rank and the other annotations are not needed to choose ids, and Django would
    # copy and relabel them into every subquery (~5 ms a page for a search with near-spellings).
    matches = queryset.values("pk")
    matches.query.annotations = {}
    _drop_unused_joins(matches.query)
    pool = matches.filter(bound) if bound is not None else matches
    within = bound if bound is not None else Q(status_changed_at__isnull=False)
    walked = pool.order_by(*order)[:count]
    # The filters read the walked claims and nothing else: the walk is the table they are tested on, so no
    # index can stand in for it (as claims' ids, the planner joined them to the trigram index's
    # candidates instead, which for a near-spelling every speaker's name resembles is a million rows).
    # It carries the columns the filters and joins read, no more: a whole row is four times slower to test.
    base = walked.query.get_initial_alias()
    walk = (
        queryset.model.objects.filter(within)
        .order_by(*order)
        .values(*_columns_read(walked.query, base))[: SEARCH_WALK * count]
    )
    walked.query.alias_map[base] = _Walk(walked.query.alias_map[base], walk.query.get_compiler(queryset.db))
    # A time plus nothing: the same order, which claims_claim_latest_idx cannot serve.
    by_time = ExpressionWrapper(F("status_changed_at") + timedelta(0), output_field=DateTimeField())
    by_sort = pool.order_by(by_time.asc() if ascending else by_time.desc(), order[1])[:count]
    walked_sql, walked_params = walked.query.get_compiler(using=queryset.db).as_sql()
    sorted_sql, sorted_params = by_sort.query.get_compiler(using=queryset.db).as_sql()
    # Django's own SQL for both arms, every value a parameter: nothing from the request is in the text.
    return RawSQL(  # noqa: S611
        f"WITH walked AS MATERIALIZED ({walked_sql}) SELECT * FROM walked UNION ALL "  # noqa: S608
        f"SELECT * FROM ({sorted_sql}) AS sorted WHERE (SELECT count(*) FROM walked) < %s",
        (*walked_params, *sorted_params, count),
    )


def _columns_filtered(query: Query) -> list[Col]:
    """The columns the query's filters read."""
    columns, expressions = [], [query.where]
    while expressions:
        expression = expressions.pop()
        if isinstance(expression, Col):
            columns.append(expression)
        expressions += [source for source in expression.get_source_expressions() if source is not None]
    return columns


def _drop_unused_joins(query: Query) -> None:
    """Leave out of the query's FROM clause each join to a claim's one related row (its speaker, source or
    status) that no filter reads: the rows' columns and annotations that needed it are gone. A LEFT JOIN of
    such a row, or an inner one on a NOT NULL column, neither adds a claim nor removes one; an inner join on
    a nullable column removes the claims without that row, so it becomes `column IS NOT NULL`. The claims
    found are the same; for a search's 14,000 matches the three joins were ~4 ms of ~30.
    """
    needed: set[str] = set()
    for column in _columns_filtered(query):
        alias = column.alias
        while alias is not None and alias not in needed:  # the join and those it hangs on
            needed.add(alias)
            alias = getattr(query.alias_map.get(alias), "parent_alias", None)
    base = query.get_initial_alias()
    for alias, join in list(query.alias_map.items()):
        if not (
            isinstance(join, Join)
            and alias not in needed
            and join.parent_alias == base
            and getattr(join.join_field, "many_to_one", False)
        ):
            continue
        if join.join_type != LOUTER and join.nullable:
            query.where.add(IsNull(Col(base, join.join_field), False), AND)
        query.alias_refcount[alias] = 0


def _columns_read(query: Query, alias: str) -> list[str]:
    """The columns of table `alias` that the query's filters and joins read (and the walk's order)."""
    read = {"id", "status_changed_at"}
    read.update(column.target.attname for column in _columns_filtered(query) if column.alias == alias)
    for join in query.alias_map.values():
        if isinstance(join, Join) and join.parent_alias == alias:
            read.update(column for column, _ in join.join_cols)
    return sorted(read)


class _Walk(BaseTable):
    """The claims table in a FROM clause, replaced by the first claims of a walk down its latest index under
    the same name: `(SELECT ... ORDER BY status_changed_at, id LIMIT n) AS "claims_claim"`, so that the
    query's own filters, compiled as Django compiles them, test the walked rows.
    """

    def __init__(self, table: BaseTable, walk: SQLCompiler) -> None:
        super().__init__(table.table_name, table.table_alias)
        self.walk = walk

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:
        sql, params = self.walk.as_sql()
        return f"({sql}) AS {compiler.quote_name_unless_alias(self.table_alias)}", list(params)


def _only_rows(queryset: QuerySet, ids: RawSQL) -> QuerySet:
    """The queryset's rows with these ids, its filters dropped: the ids met them already. Applied again,
    they would only make the planner expect a fraction of the rows (it multiplies the selectivities) and
    join the speakers, sources and statuses by nested loops over seq scans, ~10 ms for 200 rows.
    """
    rows = queryset.all()
    rows.query.where = WhereNode()
    return rows.filter(pk__in=ids)


SEARCH = SearchWindows(
    "search",
    (
        Key("window_first_at", datetime),
        Key("window_first_id", int),
        Key("window_last_at", datetime),
        Key("window_last_id", int),
        Key("window_size", int),
        Key("rank", float),
        Key("status_changed_at", datetime),
        Key("id", int),
    ),
    descending=True,
)


# The public pages ------------------------------------------------------------------------------------


@dataclass
class ClaimPage:
    """One page of claims on a public page and the relative links to the pages before and after it."""

    claims: list[Any]
    newer_url: str | None
    older_url: str | None


def paginate_claims(queryset: QuerySet, request: HttpRequest, *, fixed_shape: bool = False) -> ClaimPage:
    """The page of claims the request's ?cursor= points at, latest status change first (by relevance for a
    search). One query (LIMIT page size + 1). A page_size that is not a whole number from 1 is ignored. With
    `fixed_shape`, `queryset` is a shape built once per process that the request does not filter: its pages
    are prepared (prepared_page_of).

    A cursor we did not make, or one that leads to no claim (stale, or of another list), is a 404.
    """
    try:
        size = page_size(request.GET, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    cursor = request.GET.get("cursor") or None
    try:
        page = (prepared_page_of if fixed_shape else page_of)(
            queryset, claim_ordering(queryset), cursor=cursor, size=size
        )
    except InvalidCursor:
        raise Http404("This page of claims does not exist.") from None
    if cursor and not page.rows:
        raise Http404("This page of claims does not exist.")
    return ClaimPage(
        claims=page.rows,
        newer_url=_page_url(request, page.previous_cursor),
        older_url=_page_url(request, page.next_cursor),
    )


@dataclass
class ListPage:
    """One page of a public list other than claims, and the relative links to the pages around it."""

    rows: list[Any]
    newer_url: str | None
    older_url: str | None


def paginate_page(queryset: QuerySet, ordering: Ordering, request: HttpRequest) -> ListPage:
    """The page of `queryset` the request's ?cursor= points at, in `ordering`: one query, as
    paginate_claims. A cursor we did not make, or one that leads to no row, is a 404.
    """
    try:
        size = page_size(request.GET, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    cursor = request.GET.get("cursor") or None
    try:
        page = page_of(queryset, ordering, cursor=cursor, size=size)
    except InvalidCursor:
        raise Http404("This page does not exist.") from None
    if cursor and not page.rows:
        raise Http404("This page does not exist.")
    return ListPage(
        rows=page.rows,
        newer_url=_page_url(request, page.previous_cursor),
        older_url=_page_url(request, page.next_cursor),
    )


def _page_url(request: HttpRequest, cursor: str | None) -> str | None:
    """The request's own path and query string (every filter kept) with ?cursor= set."""
    return None if cursor is None else replace_query_param(request.get_full_path(), "cursor", cursor)


# The API ---------------------------------------------------------------------------------------------


class KeysetPagination(BasePagination):
    """The API's lists: `{"next", "previous", "results"}`, paged by a signed keyset cursor, one query a page.

    A malformed page_size or cursor is a 400 that names it.
    """

    ordering: Ordering = CLAIMS
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    # What the view may be asked besides its filters (claims.api.views refuses anything else).
    query_params = ("cursor", "page_size")

    def get_ordering(self, queryset: QuerySet) -> Ordering:
        return self.ordering

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None, *, fixed_shape: bool = False
    ) -> list[Any]:
        """One query: LIMIT page_size + 1 on the ordering's index. With `fixed_shape`, `queryset` is a shape
        built once per process that the request does not filter: its pages are prepared (prepared_page_of)."""
        self.request = request
        try:
            size = page_size(request.query_params, default=self.page_size, maximum=self.max_page_size)
        except ValueError as error:
            raise ValidationError({"page_size": [str(error)]}) from None
        try:
            self.page = (prepared_page_of if fixed_shape else page_of)(
                queryset,
                self.get_ordering(queryset),
                cursor=request.query_params.get("cursor") or None,
                size=size,
            )
        except InvalidCursor:
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
        return self.page.rows

    def get_paginated_response(self, data: list[dict[str, Any]]) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_next_link(self) -> str | None:
        return self._link(self.page.next_cursor)

    def get_previous_link(self) -> str | None:
        return self._link(self.page.previous_cursor)

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page; null on the last page."},
                "previous": {**link, "description": "The page before; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "The page to show: copy it from a `next` or `previous` link, never build it.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Rows per page: default {self.page_size}, at most {self.max_page_size} "
                "(larger values are capped).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class ClaimPagination(KeysetPagination):
    """Claims, latest status change first; by relevance first when the claims are a search."""

    def get_ordering(self, queryset: QuerySet) -> Ordering:
        return claim_ordering(queryset)


class SpeakerPagination(KeysetPagination):
    """Speakers by name."""

    ordering = SPEAKERS


class SourcePagination(KeysetPagination):
    """Sources, newest publication first; sources without a date last."""

    ordering = SOURCES


class CorrectionPagination(KeysetPagination):
    """Corrections, newest first."""

    ordering = CORRECTIONS


class WebhookEndpointPagination(KeysetPagination):
    """A key's webhook endpoints, oldest first."""

    ordering = WEBHOOKS


class ChangeFeedPagination(BasePagination):
    """The changes feed's paging: the entries (status changes and corrections) with an id above `after`,
    oldest first, `page_size` at a time.

    Entries commit in id order (claims.services serialises their inserts), so a consumer that keeps the
    last id it has seen and asks for ?after=<that id> sees every change exactly once.
    One query a page: it fetches page_size + 1 rows to know whether there are more. The queryset is anything
    with a `page(after=, limit=)` method (claims.models.ChangeFeed, EventQuerySet).
    """

    page_size = 100
    max_page_size = 1000
    query_params = ("after", "page_size")
    # What the schema's descriptions call one row, and the example of a `next` link.
    noun = "change"
    example_next = "http://127.0.0.1:8000/api/v1/changes/?after=200"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        """One query: LIMIT page_size + 1 on the id indexes of both tables."""
        self.request = request
        raw_after = request.query_params.get("after", "")
        try:
            self.after = whole_number(raw_after, low=0) if raw_after else 0
        except ValueError:
            raise ValidationError({"after": [f"Must be a whole number from 0 to {MAX_BIGINT}."]}) from None
        try:
            size = page_size(request.query_params, default=self.page_size, maximum=self.max_page_size)
        except ValueError as error:
            raise ValidationError({"page_size": [str(error)]}) from None
        # The feed (claims.models.ChangeFeed or EventQuerySet), by id.
        rows = queryset.page(after=self.after, limit=size + 1)
        self.has_more = len(rows) > size
        page = rows[:size]
        self.last_id = page[-1].id if page else self.after
        return page

    def get_paginated_response(self, data: list[dict[str, Any]]) -> Response:
        return Response({"next": self.get_next_link(), "last_id": self.last_id, "results": data})

    def get_next_link(self) -> str | None:
        """The next page: this request's URL, its filters kept, with ?after=<last id>."""
        if not self.has_more:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "after", self.last_id)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "last_id", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": f"The next page (?after=<last_id>) when more {self.noun}s are waiting; "
                    "null once you have caught up.",
                    "example": self.example_next,
                },
                "last_id": {
                    "type": "integer",
                    "description": f"The id of the last {self.noun} on this page (or the `after` asked for, "
                    "when the page is empty): keep it and ask for ?after=<last_id> next time.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "after",
                "required": False,
                "in": "query",
                "description": f"Only {self.noun}s with an id above this one (the last id you have seen). "
                f"Default 0: from the first {self.noun}.",
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"{self.noun.capitalize()}s per page: default {self.page_size}, at most "
                f"{self.max_page_size} (larger values are capped).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class EventFeedPagination(ChangeFeedPagination):
    """The events feed's paging (/api/v1/events/): the same `after`, `page_size` and page shape as the
    changes feed's. Events commit in id order (an insert trigger takes the feed's lock), so ?after=<last
    id> never skips one; the `next` link keeps the filters.
    """

    noun = "event"
    example_next = "http://127.0.0.1:8000/api/v1/events/?after=200&type=claim.overdue"
