"""The writes that change what the public sees of a claim. Each is one transaction.

The admin, the API (a client with an API key: claims.api.keys), management commands and tests call these;
nothing else sets a claim's status, status_changed_at, or appends a StatusChange, and the database refuses any
other writer (migration
0007): a claim's status can only become its latest published verdict's, and the changes feed runs forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from claims import events
from claims.audit import acting_as, event_model_of, events_after
from claims.events import lock_the_change_feed
from claims.models import (
    CLAIM_EDITABLE_COLUMNS,
    QUOTE_UNIQUE_CONSTRAINT,
    Claim,
    Correction,
    Evidence,
    Fidelity,
    Kind,
    Scale,
    Source,
    SourceSnapshot,
    Status,
    StatusChange,
    Verdict,
    normalised_quote_sql,
    scale_for_kind,
)
from claims.quotes import closest_passage, find_quote

# How far ahead of the database clock an explicit publication time may be (a clock set a little fast).
FUTURE_LEEWAY = timedelta(minutes=1)

Errors = dict[str | None, list[str]]

Versioned = TypeVar("Versioned", bound=models.Model)


@dataclass(frozen=True)
class EvidenceItem:
    """One source a verdict cites, with a note on what it shows."""

    source: Source
    note: str = ""


def acting_user(by: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    """The user a write is recorded against: None for nobody or an anonymous request."""
    return by if by is not None and by.is_authenticated else None


def wrong_scale_message(status: Status, kind: str) -> str:
    """Why a status cannot rate a claim of this kind."""
    return (
        f"“{status.label}” is on the {status.get_scale_display()} scale; a {Kind(kind).label} claim is rated "
        f"on the {Status(scale=scale_for_kind(kind)).get_scale_display()} scale."
    )


def kind_errors(*, claim: Claim, kind: str) -> Errors:
    """Why `claim`, as saved (its kind and scale as last read), cannot become a claim of `kind`: a claim
    with verdicts keeps its scale. For forms to show before saving; save_claim calls it again under the
    claim's row lock. One EXISTS query, and only when `kind` is of the other scale.
    """
    if claim.pk is None or scale_for_kind(kind) == claim.scale or not claim.verdicts.exists():
        return {}
    return {
        "kind": [
            f"This claim has verdicts on the {Status(scale=claim.scale).get_scale_display()} scale, so it "
            "cannot become a claim of the other scale. Record a new claim instead."
        ]
    }


def said_on_errors(*, said_on: date) -> Errors:
    """Why a claim cannot have been said on `said_on`: a day after today in the newsroom's time zone
    (TIME_ZONE; today itself is allowed). For forms to show before saving; save_claim calls it again.
    Runs no query. Not a database constraint: "today" moves, and a CHECK must hold for ever.
    """
    today = timezone.localdate()
    if said_on <= today:
        return {}
    return {
        "said_on": [
            f"A claim cannot have been said in the future: today is {today.day} {today:%B %Y} ({settings.TIME_ZONE})."
        ]
    }


def duplicate_errors(*, claim: Claim) -> Errors:
    """Why `claim` (saved or not) would be a duplicate: another claim has its speaker, its source and its
    quote, compared normalised (Claim.quote_normalised: curly or straight quotation marks, dashes, runs of
    white space alike). The message, on the quote, links to that claim's admin page (HTML, the claim's text
    escaped). For forms to show before saving; save_claim calls it again, and the database's unique
    constraint refuses what a race lets through. One query, none for a claim without a quote.
    """
    # A quote of white space alone normalises to "" (the rule's white space is str.isspace()'s).
    if not claim.quote.strip() or claim.speaker_id is None or claim.source_id is None:
        return {}
    existing = (
        Claim.objects.filter(
            speaker_id=claim.speaker_id,
            source_id=claim.source_id,
            # The database's own rule on the submitted quote: the comparison cannot drift from the column.
            quote_normalised=normalised_quote_sql(Value(claim.quote)),
        )
        .exclude(pk=claim.pk)
        .only("pk", "text")
        .first()
    )
    if existing is None:
        return {}
    return {
        "quote": [
            format_html(
                'This speaker\'s quote from this source is already a claim: <a href="{}">{}</a>. Open it '
                "to add to it, or check the speaker, the source and the quote.",
                reverse("admin:claims_claim_change", args=[existing.pk]),
                str(existing),
            )
        ]
    }


def verdict_errors(
    *,
    claim: Claim,
    status: Status | None,
    summary: str,
    evidence: Sequence[EvidenceItem] = (),
    publish: bool = True,
    published_at: datetime | None = None,
) -> Errors:
    """What is wrong with this verdict on this claim, by field (None: the verdict as a whole).

    The checks record_verdict makes, for forms to show before saving: `claim` may be a copy as the form
    has it (its kind as submitted, its status as last read); record_verdict calls this again under the
    claim's row lock. `published_at` None means "now". Runs no query.
    """
    errors: Errors = {}
    if status is not None and status.scale != claim.expected_scale:
        errors.setdefault("status", []).append(wrong_scale_message(status, claim.kind))
    if not summary.strip():
        errors.setdefault("summary", []).append("A verdict needs a one-line summary.")
    sources = [item.source.pk for item in evidence]
    if len(sources) != len(set(sources)):
        errors.setdefault("evidence", []).append("Each source can be cited once per verdict.")
    if publish:
        for message in _publication_errors(claim, published_at, now=timezone.now()):
            errors.setdefault("published_at", []).append(message)
    return errors


def _publication_errors(claim: Claim, published_at: datetime | None, *, now: datetime) -> list[str]:
    """Why a verdict cannot be published on `claim` at `published_at` (None: at `now`)."""
    when = published_at or now
    if published_at is not None and published_at > now + FUTURE_LEEWAY:
        return ["A verdict cannot be published in the future."]
    if claim.status_changed_at is not None and when <= claim.status_changed_at:
        return [
            "The claim already has a verdict published at "
            f"{claim.status_changed_at:%Y-%m-%d %H:%M %Z}; a new one must be published after it."
        ]
    return []


def publication_permission_errors(
    *, author_id: int | None, by: AbstractBaseUser | AnonymousUser | None
) -> list[str]:
    """Why `by` may not publish a verdict written by the user `author_id` (None: written by the system).

    Publishing takes the `claims.publish_verdict` permission (the Reviewers group has it, the Editors group
    not); and with settings.REVIEW_REQUIRED (the default) a verdict is published by someone other than its
    author, so record_verdict(publish=True, by=<a user>) is always refused then: its author would publish it.
    `by=None` is the system (load_default_data, management commands): allowed. An anonymous user is
    refused. The admin calls this to decide which buttons to offer. No query beyond the user's permissions
    (read once per user object, then cached on it).
    """
    if by is None:
        return []
    if not by.is_authenticated:
        return ["Log in as a reviewer to publish a verdict."]
    if not by.has_perm("claims.publish_verdict"):
        return ["You may record draft verdicts but not publish them: a reviewer publishes them."]
    if settings.REVIEW_REQUIRED and author_id is not None and author_id == by.pk:
        return [
            "A verdict is published by someone other than its author: another reviewer publishes this one."
        ]
    return []


# Optimistic locking -----------------------------------------------------------------------------------------
# Each editable row has a `version` the database moves on every edit (migration 0015). A form carries the
# version it was opened at; a save from it is checked under the row's lock (SELECT … FOR UPDATE), so of two
# saves from the same version one is written and the other refused, whoever commits first.

# A current value longer than this is cut in a refusal's message (the form below holds the editor's own).
SHOWN_VALUE_LENGTH = 300


@dataclass(frozen=True)
class StatusSeen:
    """A claim's status as a form showed it (its publication time; None: not rated), for record_verdict's
    check that it has not changed since: a verdict is recorded against the status its editor has seen."""

    changed_at: datetime | None


def stale_errors(
    *, current: models.Model, expected_version: int | None, changed: Sequence[str] | None = None
) -> Errors:
    """Why a save from a form opened at `expected_version` cannot be written over `current`, the row as read
    under its lock: someone else saved it since. None expects nothing (a writer that read no version).

    `changed`: the fields the caller knows changed since (a form compares the values it was opened with
    against `current`, which is exact); the message names them and shows their current values, so the
    editor can reconcile. Runs no query when the version matches; on a refusal, those of changed_since().
    """
    if expected_version is None or current.version == expected_version:  # type: ignore[attr-defined]
        return {}
    return {None: stale_messages(current=current, expected_version=expected_version, changed=changed)}


def stale_messages(
    *, current: models.Model, expected_version: int, changed: Sequence[str] | None = None
) -> list[str]:
    """The refusal in words: who changed which fields since, and each changed field's current value."""
    who, when, fields = changed_since(current=current, expected_version=expected_version, changed=changed)
    what = ", ".join(_label(current, name) for name in fields)
    at = f" ({timezone.localtime(when):%H:%M})" if when is not None else ""
    messages = [
        f"Since you opened this page, {who} changed {what or 'it'}{at}. Your changes are kept below: review "
        "them against the current values, then save again."
    ]
    messages += [f"{_label(current, name)} is now: {shown_value(current, name)}" for name in fields]
    return messages


def _label(obj: models.Model, name: str) -> str:
    return str(obj._meta.get_field(name).verbose_name).capitalize()


def changed_since(
    *, current: models.Model, expected_version: int, changed: Sequence[str] | None = None
) -> tuple[str, datetime | None, list[str]]:
    """Who changed `current` since `expected_version` (their names, from the audit history), when last,
    and which fields: `changed` when the caller knows them (exact), else those the history recorded.

    The history's events of the writes that moved the version past `expected_version` (its event rows
    snapshot the version); a write recorded with nobody known, or before the history began, is "another
    user". Queries: one for those events' ids, then claims.audit.events_after's (a fixed number).
    """
    fallback = ("another user", getattr(current, "updated_at", None), list(changed or []))
    # The event of each version past `expected_version`: the first one recording it (a claim's status
    # publications are events too, but move no version).
    moved = set(
        event_model_of(type(current))
        .objects.filter(pgh_obj_id=current.pk, version__gt=expected_version)
        .order_by("version", "pgh_id")
        .distinct("version")
        .values_list("pgh_id", flat=True)
    )
    if not moved:
        return fallback
    edits = [event for event in events_after(current, min(moved) - 1) if event.id in moved]
    if not edits:
        return fallback
    names = list(dict.fromkeys(event.who or "another user" for event in reversed(edits)))
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if changed is None:
        by_label = {str(f.verbose_name): f.name for f in current._meta.concrete_fields}
        recorded = [by_label.get(field.field) for event in reversed(edits) for field in event.fields]
        changed = [name for name in dict.fromkeys(recorded) if name and name not in NOT_EDITS]
    return who, edits[0].when, list(changed)


# Columns an audit event may record that are not an editor's change.
NOT_EDITS = frozenset({"version", "updated_at", "created_at", "search", "speaker_name", "scale"})


def shown_value(obj: models.Model, name: str) -> str:
    """A field's current value in words: a related object by its name, a choice by its label, empty as "(empty)".

    One query for a foreign key whose object is not loaded.
    """
    field = obj._meta.get_field(name)
    value = getattr(obj, name)
    if value is None or value == "":
        return "(empty)"
    if field.choices:
        value = getattr(obj, f"get_{name}_display")()
    elif isinstance(value, datetime):
        value = f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value)
    if len(text) > SHOWN_VALUE_LENGTH:
        text = text[: SHOWN_VALUE_LENGTH - 1] + "…"
    return f"“{text}”"


def status_seen_errors(*, claim: Claim, seen: StatusSeen | None) -> Errors:
    """Why a verdict recorded from a form that showed the claim's status as `seen` cannot be recorded on
    `claim` (read under its row lock): another verdict was published on it since, which the editor has not
    seen. None expects nothing. Runs no query, unless refused: then one, for the newer status's record.
    """
    if seen is None or seen.changed_at == claim.status_changed_at:
        return {}
    return {None: [status_seen_message(claim)]}


def status_seen_message(claim: Claim) -> str:
    """The refusal in words: the claim's newer status, when and by whom it was published. One query."""
    change = (
        StatusChange.objects.filter(claim=claim)
        .select_related("to_status", "published_by")
        .order_by("-id")
        .first()
    )
    if change is None:  # only a claim whose verdicts were all removed: nothing to name
        return "Since you opened this page, the claim's status changed. Review it, then save again."
    by = change.published_by
    who = (by.get_full_name() or by.get_username()) if by is not None else "another user"
    return (
        f"Since you opened this page, {who} published a verdict: the claim's status is now "
        f"“{change.to_status.label}” (published {timezone.localtime(change.published_at):%Y-%m-%d %H:%M %Z}). "
        "Your verdict is kept below: review it against the new status, then save again."
    )


def lock_for_edit(model: type[Versioned], pk: Any) -> Versioned:
    """The row, locked (SELECT … FOR UPDATE) until the transaction ends: what a save is checked against.

    One query; a claim's search vector is not read.
    """
    rows = model._default_manager.select_for_update()
    if model is Claim:
        rows = rows.defer("search")
    return rows.get(pk=pk)


def save_edit(
    *,
    obj: Versioned,
    fields: Iterable[str],
    expected_version: int | None = None,
    changed: Sequence[str] | None = None,
) -> Versioned:
    """Write an edited speaker, source or status: only `fields` (what the editor changed), after checking
    under the row's lock that nobody saved it since the editor's form was opened at `expected_version`.

    Raises ValidationError, and writes nothing, when someone did (stale_errors). A field another editor
    changed that this one did not touch is not in `fields`, so it is never written back. Costs the lock,
    the update and a read of the new version (three queries); only the lock when nothing changed.
    """
    with transaction.atomic():
        current = lock_for_edit(type(obj), obj.pk)
        _refuse(stale_errors(current=current, expected_version=expected_version, changed=changed))
        _write_fields(obj, fields)
    return obj


def _write_fields(obj: models.Model, fields: Iterable[str]) -> None:
    """Update only `fields` (and updated_at, where the model has it), then read back the version the
    database gave the row. Nothing is written when `fields` is empty. Two queries, or none."""
    columns = [name for name in dict.fromkeys(fields) if name not in ("version", "updated_at")]
    if not columns:
        return
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        columns.append("updated_at")
    obj.save(update_fields=columns)
    obj.refresh_from_db(fields=["version"])


def _refuse(errors: Errors) -> None:
    if errors:
        # Errors on the verdict as a whole go under NON_FIELD_ERRORS, as ValidationError expects.
        raise ValidationError({field or "__all__": messages for field, messages in errors.items()})


# The fields of a published claim that change only with a public correction (a slug change is a redirect,
# claims_oldclaimslug; a due date moves freely as events unfold).
CORRECTED_FIELDS = ("text", "quote", "speaker", "source", "said_on", "kind")
CORRECTED_FIELD_NAMES = {
    "text": "text",
    "quote": "quote",
    "speaker": "speaker",
    "source": "source",
    "said_on": "date said",
    "kind": "kind",
}


def correction_needed_message(fields: Iterable[str]) -> str:
    """Why a published claim's edit needs a correction note, naming the fields changed."""
    names = [CORRECTED_FIELD_NAMES[field] for field in fields]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (
        f"This claim is published: changing its {listed} is a public correction. Say what was corrected and "
        "why in the correction note; it is shown on the claim's page, on /corrections/ and in the API."
    )


def _readable(claim: Claim, field: str) -> Any:
    """A field's value as a correction records it: speakers and sources by id and name or title."""
    if field == "speaker":
        return {"id": claim.speaker_id, "name": claim.speaker.name}
    if field == "source":
        return {"id": claim.source_id, "title": claim.source.title}
    if field == "said_on":
        return claim.said_on.isoformat()
    return getattr(claim, field)


def claim_changes(*, current: Claim, claim: Claim) -> dict[str, dict[str, Any]]:
    """What saving `claim` over `current` (the row as stored) changes of the fields a correction covers:
    {field: {"old": ..., "new": ...}}. Runs a query only for a changed speaker's or source's name.
    """
    changed = [
        field
        for field in CORRECTED_FIELDS
        if getattr(current, Claim._meta.get_field(field).attname)
        != getattr(claim, Claim._meta.get_field(field).attname)
    ]
    return {field: {"old": _readable(current, field), "new": _readable(claim, field)} for field in changed}


def _record_correction(
    *,
    current: Claim,
    claim: Claim,
    correction_note: str,
    by: AbstractBaseUser | AnonymousUser | None,
    fields: Iterable[str] | None = None,
) -> None:
    """save_claim's correction: when `current` (the locked row) is published and the edit changes a field a
    correction covers, refuse without a note, else append a Correction (under the feed's lock, at the
    database's clock). Nothing for an unpublished claim. Costs nothing when no such field changed; else a
    query for each changed speaker or source name, the feed's lock and clock, the feed's latest time and
    the insert.
    """
    if current.status_id is None:
        return
    changes = claim_changes(current=current, claim=claim)
    if fields is not None:
        # Only what this save writes: a field the editor did not touch is not theirs to correct.
        written = set(fields)
        changes = {field: change for field, change in changes.items() if field in written}
    if not changes:
        return
    if not correction_note.strip():
        _refuse({"correction_note": [correction_needed_message(changes)]})
    _append_correction(claim=current, note=correction_note, changes=changes, by=by, corrected=claim)


def _feed_latest_time() -> datetime | None:
    """The publication time of the changes feed's latest entry, status change or correction. One query."""
    latest = (
        StatusChange.objects.order_by("-id")
        .values("published_at")[:1]
        .union(Correction.objects.order_by("-id").values("published_at")[:1], all=True)
    )
    return max((row["published_at"] for row in latest), default=None)


def _append_correction(
    *,
    claim: Claim,
    note: str,
    changes: dict[str, Any],
    by: AbstractBaseUser | AnonymousUser | None,
    verdict: Verdict | None = None,
    from_status_id: int | None = None,
    corrected: Claim | None = None,
) -> Correction:
    """Insert a Correction at the database's clock read under the feed's lock (never before the feed's
    latest entry), and its public event, which shows the claim as `corrected` (default: `claim`). Four
    queries: the lock and clock, the latest time, the insert, the event; and the event's look-ups
    (claims.events.record_correction).
    """
    now = lock_the_change_feed()
    latest = _feed_latest_time()
    correction = Correction.objects.create(
        claim=claim,
        note=note.strip(),
        changes=changes,
        verdict=verdict,
        from_status_id=from_status_id,
        to_status_id=verdict.status_id if verdict is not None else None,
        published_at=max(now, latest) if latest is not None else now,
        published_by=acting_user(by),
    )
    events.record_correction(correction, claim=corrected if corrected is not None else claim)
    return correction


def rating_correction_errors(*, claim: Claim, status: Status | None, correction_note: str) -> Errors:
    """Why publishing `status` on `claim` (its status as last read) needs a reason: a fact's published rating
    is final, and a verdict that changes it is a correction. A first rating after Unverified (position 0,
    which rates nothing) is no change of rating; a tracking claim's status moves freely. For forms to show
    before saving; the publication checks again under the claim's row lock. Runs no query when the claim's
    status is already loaded.
    """
    if (
        status is None
        or claim.expected_scale != Scale.ACCURACY
        or claim.status_id is None
        or status.pk == claim.status_id
        or claim.status.position == 0
        or correction_note.strip()
    ):
        return {}
    return {
        "correction_note": [
            f"This fact is already rated “{claim.status.label}”: a verdict that changes its rating is a "
            "correction. Give the reason for changing the rating; it is published with the verdict."
        ]
    }


def _refuse_publication(messages: list[str]) -> None:
    _refuse({None: messages} if messages else {})


def save_claim(
    *,
    claim: Claim,
    expected_version: int | None = None,
    fields: Iterable[str] | None = None,
    changed: Sequence[str] | None = None,
    correction_note: str = "",
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> Claim:
    """Save a claim's own fields (text, quote, kind, dates, speaker, source); never its status.

    A new claim is inserted unrated. An existing one is locked first (SELECT … FOR UPDATE, so a verdict
    being published on it meanwhile is applied before or after, never half), checked against the version
    the editor's form was opened at (`expected_version`: refused when someone saved the claim since; see
    stale_errors, and `changed` for its message), its kind is checked again under the lock (a claim with
    verdicts keeps its scale), and only its own columns are written: those in `fields` (what the editor
    changed), or all of them.

    A published claim whose text, quote, speaker, source, date said or kind changes needs a
    `correction_note`: the Correction is appended in the same transaction (see _record_correction).

    A verbatim quote is checked against the source's latest archived text and where it was found is stored
    (_verify_quote): one query for the snapshot, and for an edit one to read what was saved.

    Raises ValidationError, and writes nothing, when the claim was said after today, was saved by someone
    else since `expected_version`, the kind would move a claim that has verdicts to the other scale, a
    published claim's correction has no note, a verbatim quote is not in the source's archived text, or
    another claim has its speaker, source and quote (duplicate_errors; the database's unique constraint
    refuses it too, when two editors save the same quote at once: the later one is refused with the same
    message). Costs one insert for a new claim; three queries for an edit (lock, update, the new version),
    an EXISTS more when the kind changes scale; only the lock when no field changed; one more for the
    duplicate check when the claim has a quote; a few more for a correction.
    """
    _refuse(said_on_errors(said_on=claim.said_on))
    _refuse(duplicate_errors(claim=claim))
    try:
        with transaction.atomic():
            if claim._state.adding:
                _verify_quote(claim)
                claim.save()
                return claim
            current = lock_for_edit(Claim, claim.pk)
            _refuse(stale_errors(current=current, expected_version=expected_version, changed=changed))
            _refuse(kind_errors(claim=current, kind=claim.kind))
            _verify_quote(claim)
            columns = (
                CLAIM_EDITABLE_COLUMNS
                if fields is None
                else [f for f in fields if f in CLAIM_EDITABLE_COLUMNS]
            )
            if QUOTE_CHECKED_BY & set(columns):
                # The check's result goes with the quote, its fidelity or its source, changed by the editor.
                columns = [*columns, *QUOTE_CHECK_COLUMNS]
            _record_correction(
                current=current, claim=claim, correction_note=correction_note, by=by, fields=columns
            )
            _write_fields(claim, columns)
    except IntegrityError as error:
        # Another transaction saved the same quote after the check above (the block is rolled back, to its
        # savepoint inside an outer transaction): the claim it committed is named, as the check would have.
        # Or the slug is another claim's old address (the database's trigger, migration 0016).
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint == OLD_SLUG_CONSTRAINT:
            _refuse({"slug": [getattr(error.__cause__.diag, "message_primary", None) or str(error)]})
        if constraint != QUOTE_UNIQUE_CONSTRAINT:
            raise
        _refuse(
            duplicate_errors(claim=claim)
            or {"quote": ["This speaker's quote from this source is already a claim."]}
        )
    return claim


# Quotes checked against the source ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteCheck:
    """What checking a claim's quote found: the errors, or where a verbatim quote stands (snapshot and
    offsets; None for no quote, a paraphrase or reported speech, which are not checked)."""

    errors: Errors
    snapshot: SourceSnapshot | None = None
    start: int | None = None
    end: int | None = None


def check_quote(*, quote: str, fidelity: str, source: Source | None, speaker_name: str = "") -> QuoteCheck:
    """Check a quote against its source's latest archived text, as save_claim does and forms show.

    A verbatim quote (a quote with no fidelity counts as verbatim) must be found in the source's latest
    snapshot (claims.quotes.find_quote: quotation marks, dashes and white space normalised, case kept); one
    not found is refused with the closest passage; a source with no archived text refuses a verbatim quote
    too. A paraphrase or reported speech is not checked. One query (the latest snapshot, its text
    included), only for a verbatim quote.
    """
    if not quote or (fidelity or Fidelity.VERBATIM) != Fidelity.VERBATIM or source is None:
        return QuoteCheck(errors={})
    snapshot = source.snapshots.latest_first().first()
    if snapshot is None:
        return QuoteCheck(
            errors={
                "quote": [
                    f"“{source}” has no archived text to check a verbatim quote against: archive the "
                    "source's text first (on the source's page), or mark the quote as a paraphrase or as "
                    "reported speech."
                ]
            }
        )
    found = find_quote(quote, snapshot.text, speaker_name)
    if found is None:
        captured = timezone.localtime(snapshot.captured_at)
        when = f"{captured.day} {captured:%B %Y %H:%M %Z}"
        closest = closest_passage(quote, snapshot.text)
        hint = (
            f"The closest passage is: “{closest}”"
            if closest
            else "No passage of it shares a word with the quote."
        )
        return QuoteCheck(
            errors={
                "quote": [
                    f"Not found in the archived text of “{source}” (captured {when}). "
                    f"{hint} Quote the source's exact words, or mark the quote as a paraphrase or as "
                    "reported speech."
                ]
            }
        )
    return QuoteCheck(errors={}, snapshot=snapshot, start=found[0], end=found[1])


# The name the database gives its refusal of a slug that is another claim's old address (migration 0016).
OLD_SLUG_CONSTRAINT = "claims_claim_old_slug"

# What a quote's check reads (changed, it is checked again), and what the check writes.
QUOTE_CHECKED_BY = frozenset({"quote", "fidelity", "source"})
QUOTE_CHECK_COLUMNS = ("fidelity", "quote_snapshot", "quote_start", "quote_end")


def _verify_quote(claim: Claim) -> None:
    """Set the claim's fidelity and where its verbatim quote was found, or refuse (ValidationError).

    A claim without a quote has no fidelity; a quote without one is verbatim. A claim whose quote, fidelity
    and source are unchanged keeps the verification it has, or has not (a fact about a snapshot, which never changes),
    even if a later capture of the source no longer holds the words. Called by save_claim inside its
    transaction, under the claim's row lock for an edit. One query to read what is saved (an edit), one for
    the latest snapshot (a verbatim quote to check).
    """
    if not claim.quote:
        claim.fidelity = ""
    elif not claim.fidelity:
        claim.fidelity = Fidelity.VERBATIM
    if claim.pk is not None:
        saved = Claim.objects.filter(pk=claim.pk).values("quote", "fidelity", "source_id")
        if saved and saved[0] == {
            "quote": claim.quote,
            "fidelity": claim.fidelity,
            "source_id": claim.source_id,
        }:
            return
    check = check_quote(
        quote=claim.quote, fidelity=claim.fidelity, source=claim.source, speaker_name=claim.speaker.name
    )
    _refuse(check.errors)
    claim.quote_snapshot, claim.quote_start, claim.quote_end = check.snapshot, check.start, check.end


def archive_source_text(
    *,
    source: Source,
    text: str,
    captured_at: datetime | None = None,
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> SourceSnapshot:
    """Add a capture of a source's text: a new snapshot, which becomes the source's current text. Earlier
    snapshots are kept as they are (the database refuses to change them), and so are the quotes verified
    against them.

    `captured_at` defaults to the database's clock. Raises ValidationError, and writes nothing, for an empty
    text or a capture time in the future or outside the years 1 to 9999 in UTC. One insert.
    """
    snapshot = SourceSnapshot(source=source, text=text, created_by=acting_user(by))
    if captured_at is not None:
        snapshot.captured_at = captured_at
    errors: Errors = {}
    if not text.strip():
        errors["text"] = ["Paste the document's text: an archived text cannot be empty."]
    if captured_at is not None:
        try:
            snapshot.clean()  # the years 1 to 9999 in UTC
        except ValidationError as error:
            errors.update(error.message_dict)
        else:
            if captured_at > timezone.now() + FUTURE_LEEWAY:
                errors["captured_at"] = ["A text cannot have been captured in the future."]
    _refuse(errors)
    with transaction.atomic():
        snapshot.save()
    return snapshot


def save_draft(
    *,
    verdict: Verdict,
    status: Status,
    summary: str,
    explanation: str = "",
    expected_version: int | None = None,
    fields: Iterable[str] | None = None,
    changed: Sequence[str] | None = None,
    correction_note: str | None = None,
) -> Verdict:
    """Rewrite a draft verdict's status, summary, explanation and (unless None) reason for changing the
    rating, which is checked when the draft is published: those in `fields` (what the editor changed), or
    all of them.

    Locks the verdict row (SELECT … FOR UPDATE): publish_verdict takes the same lock, so the draft is
    either rewritten before it is published or refused after. Raises ValidationError, and writes nothing,
    when the verdict was published meanwhile, saved by someone else since the editor's form was opened at
    `expected_version` (see stale_errors), or the new status or summary is wrong. Four queries.
    """
    with transaction.atomic():
        current = Verdict.objects.select_for_update().select_related("claim").get(pk=verdict.pk)
        if current.is_published:
            raise ValidationError(
                "This verdict was published meanwhile, and a published verdict cannot be changed. Record a "
                "new verdict on its claim instead."
            )
        _refuse(stale_errors(current=current, expected_version=expected_version, changed=changed))
        _refuse(verdict_errors(claim=current.claim, status=status, summary=summary, publish=False))
        current.status, current.summary, current.explanation = status, summary.strip(), explanation.strip()
        editable = ["status", "summary", "explanation"]
        if correction_note is not None:
            current.correction_note = correction_note.strip()
            editable.append("correction_note")
        _write_fields(current, editable if fields is None else [f for f in fields if f in editable])
    verdict.status, verdict.summary, verdict.explanation, verdict.version = (
        current.status,
        current.summary,
        current.explanation,
        current.version,
    )
    return current


def record_verdict(
    *,
    claim: Claim,
    status: Status,
    summary: str,
    explanation: str = "",
    evidence: Iterable[EvidenceItem] = (),
    publish: bool = True,
    published_at: datetime | None = None,
    by: AbstractBaseUser | AnonymousUser | None = None,
    status_seen: StatusSeen | None = None,
    correction_note: str = "",
) -> Verdict:
    """Record a verdict on a claim; when published, it becomes the claim's status.

    One transaction: locks the claim row (SELECT … FOR UPDATE, so two editors publishing at once are
    applied one after the other), saves the verdict and its evidence as a draft, and, when `publish` is
    true, publishes it (publish_verdict's steps: the feed's lock, the time, the StatusChange, the claim's
    status). A draft (`publish=False`) changes nothing public. `published_at` defaults to the database's
    clock read under the feed's lock; it may be backdated, but not before the claim's current status nor
    before the latest entry of the changes feed, and not into the future.

    `status_seen`: the claim's status as the editor's form showed it; the verdict is then refused when
    another was published on the claim since (status_seen_errors), so nobody rates a claim against a status
    they have not seen.

    A fact's published rating is final: a verdict that changes it needs `correction_note`, the reason, kept
    on the verdict (a draft carries it to its publication) and published as a Correction with it.

    Raises ValidationError, and saves nothing, on a status from the wrong scale, an empty summary, a bad
    publication time, a source cited twice, a status changed since `status_seen`, or a changed rating
    without a reason (checked at publication), and when `publish` is true but `by` may not publish this
    verdict (publication_permission_errors: with review required, its author never may). Costs about
    eight queries plus one per evidence batch, and a few more for a rating correction.
    """
    evidence = list(evidence)
    if publish:
        # The author is `by` itself: checked before anything is locked or written.
        author = acting_user(by)
        _refuse_publication(publication_permission_errors(author_id=author and author.pk, by=by))
    # The audit history records these writes as `by`'s, also outside a request (claims.audit).
    with acting_as(by), transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
        _refuse(status_seen_errors(claim=claim, seen=status_seen))
        # The time is checked again, against the database clock, once the feed is locked.
        _refuse(
            verdict_errors(
                claim=claim,
                status=status,
                summary=summary,
                evidence=evidence,
                publish=publish and published_at is not None,
                published_at=published_at,
            )
        )
        verdict = Verdict(
            claim=claim,
            status=status,
            scale=claim.expected_scale,
            summary=summary.strip(),
            explanation=explanation.strip(),
            created_by=acting_user(by),
            correction_note=correction_note.strip(),
        )
        verdict.full_clean(exclude=["claim", "status", "created_by"])
        verdict.save()
        # Saved while the verdict is a draft: once it is published, the database refuses evidence changes.
        Evidence.objects.bulk_create(
            Evidence(verdict=verdict, source=item.source, note=item.note.strip(), position=position)
            for position, item in enumerate(evidence)
        )
        if publish:
            _publish(claim, verdict, published_at, by)
    return verdict


def publish_verdict(
    *,
    verdict: Verdict,
    published_at: datetime | None = None,
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> Verdict:
    """Publish a draft verdict: it becomes its claim's status, with a StatusChange appended. One transaction.

    Raises ValidationError, and writes nothing, when the verdict is already published, the time is not
    acceptable, or `by` may not publish it (publication_permission_errors: the publish_verdict permission
    and, with review required, not its own author). About six queries.
    """
    with acting_as(by), transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=verdict.claim_id)
        verdict = Verdict.objects.select_for_update().select_related("status").get(pk=verdict.pk)
        if verdict.is_published:
            raise ValidationError("This verdict is already published.")
        _refuse_publication(publication_permission_errors(author_id=verdict.created_by_id, by=by))
        _publish(claim, verdict, published_at, by)
    return verdict


def _rating_correction(claim: Claim, verdict: Verdict) -> dict[str, Any] | None:
    """The changes of the Correction that publishing `verdict` on `claim` (locked) makes, or None when it
    is no change of a fact's rating. Refuses a change without the verdict's correction_note. One query (the
    statuses' labels) for a fact with a rating, none otherwise.
    """
    if (
        claim.expected_scale != Scale.ACCURACY
        or claim.status_id is None
        or claim.status_id == verdict.status_id
    ):
        return None
    _refuse(
        rating_correction_errors(claim=claim, status=verdict.status, correction_note=verdict.correction_note)
    )
    if claim.status.position == 0:
        return None
    return {"status": {"old": claim.status.label, "new": verdict.status.label}}


def _publish(
    claim: Claim, verdict: Verdict, published_at: datetime | None, by: AbstractBaseUser | AnonymousUser | None
) -> None:
    """Publish a saved draft (the caller holds the claim's row lock): the verdict's time, a StatusChange,
    and the claim's status, all at one time read under the changes feed's lock.

    A changed rating of a fact needs the verdict's correction_note, and appends a Correction after the
    StatusChange (see _rating_correction).

    Raises ValidationError for a time in the future, not after the claim's current status, or before the
    feed's latest entry (a status change or a correction), or for a changed rating without a reason. Four
    queries, and three more for a rating correction.
    """
    correction_changes = _rating_correction(claim, verdict)
    now = lock_the_change_feed()
    latest = _feed_latest_time()
    if published_at is None:
        # Never behind the feed's latest entry, even one published a little ahead of the clock.
        published_at = max(now, latest) if latest is not None else now
    messages = _publication_errors(claim, published_at, now=now)
    if not messages and latest is not None and published_at < latest:
        messages = [
            f"The changes feed's latest entry was published at {latest:%Y-%m-%d %H:%M:%S %Z}; a verdict "
            "cannot be published before it, as the feed runs forward in time."
        ]
    _refuse({"published_at": messages} if messages else {})
    verdict.published_at = published_at
    verdict.save(update_fields=["published_at"])
    change = StatusChange.objects.create(
        claim=claim,
        from_status_id=claim.status_id,
        to_status_id=verdict.status_id,
        verdict=verdict,
        published_at=published_at,
        published_by=acting_user(by),
    )
    events.record_status_change(change, claim=claim, verdict=verdict)
    if correction_changes is not None:
        _append_correction(
            claim=claim,
            note=verdict.correction_note,
            changes=correction_changes,
            by=by,
            verdict=verdict,
            from_status_id=claim.status_id,
        )
    # A queryset update, not claim.save(): Claim.save() never writes the status columns.
    Claim.objects.filter(pk=claim.pk).update(
        status=verdict.status_id, status_changed_at=published_at, updated_at=timezone.now()
    )
    claim.status_id, claim.status_changed_at = verdict.status_id, published_at
