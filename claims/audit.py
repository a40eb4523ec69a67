"""The audit history: every insert, update and delete of a claims model, recorded by the database itself.

django-pghistory installs, for each tracked model (`@track_history()` in claims/models.py), three row-level
AFTER triggers (insert, update, delete) that append one row per written row to the model's event table
(claims_claimevent, claims_speakerevent, ...), whatever wrote it: the admin, claims.services, a command, a
queryset update or raw SQL. Each event row holds:

- the row as written (the new values; the old ones for a delete), as pghistory snapshots it;
- `pgh_changes`, {column: [old, new]} of the columns the write changed, computed by the trigger from OLD
  and NEW, so every row carries its own old and new values (also for rows written before tracking began);
- `pgh_label` (insert, update or delete), `pgh_created_at` (the transaction's time) and `pgh_context`: who
  and how, from pghistory's context (the request's user, path and method, set by HistoryMiddleware below; a
  command's name, set by RecordedCommand; the user a service acts for, set by `acting_as`). A write outside
  any context (psql, a raw cursor in a shell) is recorded all the same, with no context.

Every event table refuses UPDATE and DELETE (a pgtrigger.Protect trigger each: append_only=True); TRUNCATE,
which the test suite's flushes use, is not a row operation and still works. Context rows (pghistory_context)
refuse DELETE, and an UPDATE may only add to their metadata (migration 0013), so "who" cannot be rewritten.

Reading: `history_of(obj)` and `events_after(obj, point)` return `Change` records, newest first, in words
a person reads (field, old → new, who, when), at a fixed number of queries whatever the number of events.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

import pghistory
import pghistory.middleware
import pghistory.models
import pghistory.trigger
import pgtrigger
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

M = TypeVar("M", bound=models.Model)

# At most this many events are read for one object's history page (newest first).
HISTORY_LIMIT = 500


# Recording ------------------------------------------------------------------------------------------------


class AuditEvent(pghistory.models.Event):
    """The base of every event model here: pghistory's event, plus the changed columns' old and new values."""

    pgh_changes = models.JSONField(
        null=True,
        help_text="The columns this write changed, as {column: [old, new]} (old is null for an insert, new "
        "for a delete). Computed by the trigger from the row before and after the write.",
    )

    class Meta:
        abstract = True


# The columns a write changed, as {column: [old, new]}, from the tracked columns of the row before (<old>) and
# after (<new>) it, each a jsonb_build_object(...). An insert records the columns it set, a delete those the
# row had (a JSON null is no value).
CHANGES_SQL = {
    "INSERT": "(SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value))"
    " FROM jsonb_each(<new>) AS n(key, value) WHERE n.value <> 'null')",
    "UPDATE": "(SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value))"
    " FROM jsonb_each(<old>) AS o(key, value) JOIN jsonb_each(<new>) AS n(key, value) ON n.key = o.key"
    " WHERE o.value <> n.value)",
    "DELETE": "(SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL))"
    " FROM jsonb_each(<old>) AS o(key, value) WHERE o.value <> 'null')",
}


# Columns snapshotted but not listed among a write's changes: the optimistic-locking version (migration 0015)
# moves with every edit, so it would only repeat "1 → 2" on each one; claims.services reads it from the
# event rows' snapshot instead.
UNRECORDED = frozenset({"version"})


class ChangesEventTrigger(pghistory.trigger.Event):
    """pghistory's event trigger, also filling `pgh_changes` from OLD and NEW.

    pghistory writes `INSERT INTO "<event table>" (<columns>) VALUES (<values>)` for the snapshot; this adds
    one column and its value to that statement (CHANGES_SQL). The columns compared are the tracked ones,
    named one by one (to_jsonb(NEW) would also convert what is not tracked, such as a claim's search
    vector), generated columns left out: they follow the columns they are computed from.
    """

    def get_func(self, model: type[models.Model]) -> pgtrigger.Func:
        if self.level != pgtrigger.Row:
            raise ImproperlyConfigured("claims.audit records changes with row-level triggers only.")
        sql = super().get_func(model).func
        head = f'INSERT INTO "{self.event_model._meta.db_table}" ('
        values = ") VALUES ("
        if sql.count(head) != 1 or sql.count(values) != 1:
            raise ImproperlyConfigured(
                "pghistory's event trigger no longer has the shape claims.audit extends: check its version."
            )
        tracked = {f.name for f in self.event_model.pgh_tracked_model._meta.concrete_fields}
        columns = [
            f.column
            for f in self.event_model._meta.concrete_fields
            if f.name in tracked and not isinstance(f, models.GeneratedField) and f.name not in UNRECORDED
        ]
        changes = (
            CHANGES_SQL[str(self.operation)]
            .replace("<old>", _row_json("OLD", columns))
            .replace("<new>", _row_json("NEW", columns))
        )
        sql = sql.replace(head, head + '"pgh_changes", ').replace(values, values + changes + ", ")
        return pgtrigger.Func(sql)


def _row_json(row: str, columns: list[str]) -> str:
    """SQL for a jsonb object of these columns of OLD or NEW. The names are the models' own (no user
    input). jsonb_build_object takes at most 100 arguments: a wider row is built 50 columns at a time."""
    parts = [
        "jsonb_build_object("
        + ", ".join(f"'{column}', {row}.\"{column}\"" for column in columns[i : i + 50])
        + ")"
        for i in range(0, len(columns), 50)
    ]
    return " || ".join(parts)


class _RecordsChanges:
    """A pghistory row event whose trigger is ChangesEventTrigger."""

    def add_event_trigger(self, event_model: type[models.Model]) -> None:
        pgtrigger.register(
            ChangesEventTrigger(
                event_model=event_model,
                label=self.label,
                name=self.trigger_name,
                row=self.row,
                operation=self.operation,
                condition=self.condition,
                level=self.level,
            )
        )(event_model.pgh_tracked_model)


class InsertEvent(_RecordsChanges, pghistory.InsertEvent):
    """Fires on every insert: the new row, each column as [null, new]."""


class UpdateEvent(_RecordsChanges, pghistory.UpdateEvent):
    """Fires when any tracked column changes (pghistory's default condition)."""


class DeleteEvent(_RecordsChanges, pghistory.DeleteEvent):
    """Fires on every delete: the old row, each column as [old, null]."""


def track_history(
    *, exclude: Sequence[str] = (), not_an_edit_alone: Sequence[str] = ()
) -> Callable[[type[M]], type[M]]:
    """The decorator that records every insert, update and delete of a model in its event table.

    `exclude`: columns not to record (derived ones, such as a search vector). `not_an_edit_alone`: columns
    recorded with an edit, whose change alone is no event (a claim's updated_at, which the database touches
    when its speaker or source is renamed: the rename is recorded once, on the speaker or source). Adding a
    model or a field to the history is this decorator and `makemigrations` (which writes the event table and
    the triggers).
    """
    update = (
        UpdateEvent(condition=pgtrigger.AnyChange(exclude=list(not_an_edit_alone)))
        if not_an_edit_alone
        else UpdateEvent()
    )
    return pghistory.track(
        InsertEvent(),
        update,
        DeleteEvent(),
        exclude=list(exclude),
        append_only=True,
        base_model=AuditEvent,
    )


def acting_as(user: Any) -> contextlib.AbstractContextManager:
    """Record the writes made inside this block as `user`'s (a services call outside a request, say).

    Within a request or a command this adds the user to its context; outside one it opens a context. Does
    nothing for no user or an anonymous one. Runs no query.
    """
    if user is None or not user.is_authenticated:
        return contextlib.nullcontext()
    return pghistory.context(user=user.pk, username=user.get_username())


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware (the user and the path of each request that may write), plus the method and
    the username, so the history still says who after a user is deleted. Place after AuthenticationMiddleware.
    """

    def get_context(self, request: Any) -> dict[str, Any]:
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else None
        return {**super().get_context(request), "method": request.method, "username": username}


class RecordedCommand(BaseCommand):
    """A management command whose writes are recorded against it: the history names the command."""

    def execute(self, *args: Any, **options: Any) -> Any:
        with pghistory.context(command=type(self).__module__.rsplit(".", 1)[-1]):
            return super().execute(*args, **options)


# Reading --------------------------------------------------------------------------------------------------


class FieldChange(NamedTuple):
    """One field of one event, as a person reads it: its name and both values in words."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    """One recorded write of one object."""

    id: int  # the event's id in its table: increasing, a cursor for events_after
    when: datetime
    kind: str  # "created", "changed" or "deleted"
    who: str | None  # the user's name as shown, None when not known
    via: str  # "POST /admin/...", "command load_default_data", or "" when not known
    fields: list[FieldChange] = field(default_factory=list)


KINDS = {"insert": "created", "update": "changed", "delete": "deleted"}
NO_VALUE = "—"


def history_of(obj: models.Model, *, limit: int = HISTORY_LIMIT) -> list[Change]:
    """Every recorded write of `obj`, newest first (at most `limit`).

    Queries: one for the events (with their context), one for the users named, and one per kind of related
    object the changed foreign keys point to (a model's foreign keys bound it): never one per event.
    """
    events = _events(obj).order_by("-pgh_id")[:limit]
    return _changes(type(obj), list(events))


def events_after(obj: models.Model, after: datetime | int) -> list[Change]:
    """The recorded writes of `obj` after a point, newest first: an event id (`latest_event_id`, the safer
    cursor) or a time (events of transactions that started after it). For "who changed what since you
    opened the form". Same queries as history_of.
    """
    events = _events(obj)
    events = (
        events.filter(pgh_id__gt=after) if isinstance(after, int) else events.filter(pgh_created_at__gt=after)
    )
    return _changes(type(obj), list(events.order_by("-pgh_id")))


def latest_event_id(obj: models.Model) -> int | None:
    """The id of `obj`'s latest recorded event (None if none): a cursor for events_after. One query."""
    return _events(obj).order_by("-pgh_id").values_list("pgh_id", flat=True).first()


def event_model_of(model: type[models.Model]) -> type[AuditEvent]:
    """The event model recording `model`'s writes."""
    return model.pgh_event_model  # type: ignore[attr-defined]


def _events(obj: models.Model) -> models.QuerySet:
    return (
        event_model_of(type(obj))
        .objects.filter(pgh_obj_id=obj.pk)
        .select_related("pgh_context")
        .only("pgh_id", "pgh_created_at", "pgh_label", "pgh_changes", "pgh_context__metadata")
    )


def _changes(model: type[models.Model], events: list[AuditEvent]) -> list[Change]:
    """The events in words. Looks up the users and related objects they name, one query per model."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    contexts = [event.pgh_context.metadata if event.pgh_context else {} for event in events]

    # What to look up: the related objects of the changed foreign keys, and the users of the contexts.
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    user_model = get_user_model()
    for event, context in zip(events, contexts, strict=True):
        if isinstance(context.get("user"), int):
            wanted[user_model].add(context["user"])
        for column, values in (event.pgh_changes or {}).items():
            f = by_column.get(column)
            if f is not None and f.is_relation and f.many_to_one:
                wanted[f.related_model].update(v for v in values if v is not None)
    found = {related: _in_bulk(related, ids) for related, ids in wanted.items()}

    changes = []
    for event, context in zip(events, contexts, strict=True):
        kind = KINDS.get(event.pgh_label, event.pgh_label)
        fields = []
        for column, (old, new) in (event.pgh_changes or {}).items():
            f = by_column.get(column)
            if f is not None and f.primary_key:
                continue
            old_text, new_text = _shown(f, old, found), _shown(f, new, found)
            if old_text == new_text != NO_VALUE and isinstance(f, models.DateTimeField):
                # Times apart by less than a second: shown to the microsecond, or the two would read alike.
                old_text, new_text = _shown(f, old, found, precise=True), _shown(f, new, found, precise=True)
            if kind != "changed" and NO_VALUE in (old_text, new_text) and old_text == new_text:
                continue
            fields.append(FieldChange(str(f.verbose_name) if f is not None else column, old_text, new_text))
        fields.sort(key=lambda change: _field_order(model, change.field))
        changes.append(
            Change(
                id=event.pgh_id,
                when=event.pgh_created_at,
                kind=kind,
                who=_who(context, found.get(user_model, {})),
                via=_via(context),
                fields=fields,
            )
        )
    return changes


def _in_bulk(model: type[models.Model], ids: Iterable[Any]) -> dict[Any, models.Model]:
    """The objects with these ids, their own foreign keys joined in (what their __str__ may read): one query."""
    joined = [f.name for f in model._meta.concrete_fields if f.is_relation and f.many_to_one]
    return model._base_manager.select_related(*joined).in_bulk(list(ids))


def _field_order(model: type[models.Model], name: str) -> tuple[bool, int]:
    """The model's field order, its record-keeping times (created at, updated at) last."""
    fields = list(model._meta.concrete_fields)
    names = [str(f.verbose_name) for f in fields]
    if name not in names:
        return (True, len(names))
    f = fields[names.index(name)]
    return (bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)), names.index(name))


def _shown(
    f: models.Field | None,
    value: Any,
    found: dict[type[models.Model], dict[Any, models.Model]],
    *,
    precise: bool = False,
) -> str:
    """A stored JSON value in words: a related object by its name, a choice by its label, a time in the
    site's time zone; no value (null, or empty text) as a dash."""
    if value is None or value == "":
        return NO_VALUE
    if f is None:
        return str(value)
    if f.is_relation and f.many_to_one:
        related = found.get(f.related_model, {}).get(value)
        return (
            str(related)
            if related is not None
            else f"{f.related_model._meta.verbose_name} #{value} (deleted)"
        )
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        shape = "%Y-%m-%d %H:%M:%S.%f %Z" if precise else "%Y-%m-%d %H:%M:%S %Z"
        return timezone.localtime(moment).strftime(shape) if moment else value
    if isinstance(f, models.DateField) and isinstance(value, str):
        day = parse_date(value)
        return day.isoformat() if isinstance(day, date) else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _who(context: dict[str, Any], users: dict[Any, models.Model]) -> str | None:
    user = users.get(context.get("user"))
    if user is not None:
        return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
    return context.get("username") or (f"user #{context['user']}" if context.get("user") else None)


def _via(context: dict[str, Any]) -> str:
    if context.get("url"):
        return f"{context.get('method') or 'request'} {context['url']}"
    if context.get("command"):
        return f"command {context['command']}"
    return ""
