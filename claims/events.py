"""Public events: a published status change, a correction, a claim become overdue.

Each is one `Event` row, written here in the transaction of what it reports (claims.services calls
record_status_change and record_correction; record_overdue runs on a schedule), under the changes feed's
advisory lock, so event ids commit in id order: the events feed (`/api/v1/events/`), the Atom feeds and the
webhooks all read these rows, and a consumer that keeps the last id it saw never misses one.

An event's `payload` is built once, when it happens, and never rewritten: the feed and every webhook delivery
of an event carry the same data, however the claim changes later.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from claims import webhooks
from claims.models import (
    Claim,
    Correction,
    Event,
    EventType,
    Speaker,
    Status,
    StatusChange,
    Verdict,
)

# Key of the transaction-level advisory lock that serialises the changes feed's and the events feed's inserts
# (any constant unique to this purpose). Holding it from the insert to the commit makes ids commit in id
# order. The database's insert triggers on claims_change, claims_correction and claims_event take it too, so
# no writer can skip it.
CHANGE_FEED_LOCK = 7_146_532_901


def lock_the_change_feed() -> datetime:
    """Wait for the changes feed's lock, then return the database's clock: the time to publish at.

    One query. The transaction-level advisory lock is held until commit, so every StatusChange inserted
    after this commits after the previous one, and a time read after the lock is never earlier than a
    time read by the previous holder (one clock, the database's, whichever app server asks). The time is
    read in a subquery-fenced step after the lock is granted, not when the statement starts.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT clock_timestamp() FROM (SELECT pg_advisory_xact_lock(%s) OFFSET 0) AS feed_locked",
            [CHANGE_FEED_LOCK],
        )
        return cursor.fetchone()[0]


def status_brief(status: Status | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {"slug": status.slug, "label": status.label, "scale": status.scale, "position": status.position}


def claim_brief(claim: Claim, speaker: Speaker) -> dict[str, Any]:
    """The claim as an event shows it: enough to act on without another request."""
    return {
        "id": claim.pk,
        "slug": claim.slug,
        "text": claim.text,
        "kind": claim.kind,
        "said_on": claim.said_on.isoformat(),
        "due_on": claim.due_on.isoformat() if claim.due_on else None,
        "url": claim.public_url(),
        "speaker": {"slug": speaker.slug, "name": speaker.name},
    }


def _payload(
    claim: Claim,
    speaker: Speaker,
    *,
    status: Status | None,
    from_status: Status | None = None,
    to_status: Status | None = None,
    verdict: Verdict | None = None,
    correction: Correction | None = None,
    overdue: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Every event's data has the same keys; what does not apply to its type is null."""
    return {
        "claim": claim_brief(claim, speaker),
        "status": status_brief(status),
        "from_status": status_brief(from_status),
        "to_status": status_brief(to_status),
        "verdict": (
            {
                "id": verdict.pk,
                "summary": verdict.summary,
                "published_at": verdict.published_at.isoformat() if verdict.published_at else None,
            }
            if verdict is not None
            else None
        ),
        "correction": (
            {"id": correction.pk, "note": correction.note, "changes": correction.changes}
            if correction is not None
            else None
        ),
        "overdue": overdue,
    }


def _speaker_of(claim: Claim) -> Speaker:
    """The claim's speaker: the cached one when it is the claim's, else one query."""
    cached = Claim.speaker.field.get_cached_value(claim, default=None)
    if cached is not None and cached.pk == claim.speaker_id:
        return cached
    return Speaker.objects.only("slug", "name").get(pk=claim.speaker_id)


def record_status_change(change: StatusChange, *, claim: Claim, verdict: Verdict) -> Event:
    """The event of a published status change (the caller holds the feed's lock, in its transaction)."""
    speaker = _speaker_of(claim)
    from_status = Status.objects.get(pk=change.from_status_id) if change.from_status_id else None
    return _insert(
        [
            Event(
                type=EventType.STATUS_CHANGED,
                claim=claim,
                speaker=speaker,
                status_change=change,
                payload=_payload(
                    claim,
                    speaker,
                    status=verdict.status,
                    from_status=from_status,
                    to_status=verdict.status,
                    verdict=verdict,
                ),
                created_at=change.published_at,
            )
        ]
    )[0]


def record_correction(correction: Correction, *, claim: Claim) -> Event:
    """The event of a correction; `claim` as corrected (the caller holds the feed's lock)."""
    speaker = _speaker_of(claim)
    statuses = Status.objects.in_bulk(
        {pk for pk in (correction.from_status_id, correction.to_status_id, claim.status_id) if pk}
    )
    return _insert(
        [
            Event(
                type=EventType.CORRECTED,
                claim=claim,
                speaker=speaker,
                correction=correction,
                payload=_payload(
                    claim,
                    speaker,
                    status=statuses.get(correction.to_status_id or claim.status_id),
                    from_status=statuses.get(correction.from_status_id),
                    to_status=statuses.get(correction.to_status_id),
                    verdict=correction.verdict,
                    correction=correction,
                ),
                created_at=correction.published_at,
            )
        ]
    )[0]


def record_overdue(today: date | None = None) -> list[Event]:
    """Emit one `claim.overdue` event for each published claim overdue on `today` (default: the site's today)
    that has none yet for its due date, and return them. Run on a schedule; safe to run at any time and
    from several processes at once: the check runs again under the feed's lock, and a unique constraint
    keeps one event per claim and due date.

    Locks in the order every publication takes them, rows first, then the feed's lock: the candidates'
    claim and speaker rows are locked FOR KEY SHARE (what the events' foreign keys need), skipping any an
    editor holds right now (it is taken at the next run), and only then the feed's lock. Taken the other
    way round, an editor publishing on a claim as it becomes overdue (holding the claim's row, waiting for
    the feed's lock) and this run (holding the feed's lock, its insert waiting for the claim's row) would
    deadlock. Four queries and the inserts.
    """
    today = today or timezone.localdate()
    already = Event.objects.filter(type=EventType.OVERDUE, claim=OuterRef("pk"), due_on=OuterRef("due_on"))
    due = Claim.objects.overdue(today).exclude(Exists(already))
    with transaction.atomic():
        candidates, params = due.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id FROM claims_claim c JOIN claims_speaker s ON s.id = c.speaker_id "  # noqa: S608
                f"WHERE c.id IN ({candidates}) FOR KEY SHARE OF c, s SKIP LOCKED",
                params,
            )
            locked = [row[0] for row in cursor.fetchall()]
        if not locked:
            return []
        now = lock_the_change_feed()
        # Read again under the feed's lock: another run may have committed their events meanwhile.
        claims = list(
            due.filter(pk__in=locked)
            .select_related("speaker", "status")
            .defer("search", "quote_normalised")
            .order_by("due_on", "id")
        )
        events = [
            Event(
                type=EventType.OVERDUE,
                claim=claim,
                speaker=claim.speaker,
                due_on=claim.due_on,
                payload=_payload(
                    claim,
                    claim.speaker,
                    status=claim.status,
                    overdue={
                        "due_on": claim.due_on.isoformat(),
                        "overdue_since": claim.overdue_since(today).isoformat(),
                    },
                ),
                created_at=now,
            )
            for claim in claims
        ]
        return _insert(events) if events else []


def _insert(events: list[Event]) -> list[Event]:
    """Insert events (their ids from the sequence, in order, under the feed's lock), and their webhook
    deliveries and jobs in the same transaction (claims.webhooks.enqueue_deliveries): a committed event
    always gets its deliveries, a rolled-back one never does. Two queries when no endpoint matches (the
    insert, the endpoints), four when some do (the deliveries and their jobs too).
    """
    inserted = Event.objects.bulk_create(events)
    webhooks.enqueue_deliveries(inserted)
    return inserted
