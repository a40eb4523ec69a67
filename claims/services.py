"""The writes that change what the public sees of a claim. Each is one transaction.

The admin, the API, management commands and tests call these; nothing else sets a claim's status,
status_changed_at, or appends a StatusChange.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from claims.models import Claim, Evidence, Kind, Source, Status, StatusChange, Verdict, scale_for_kind

# Key of the transaction-level advisory lock that serialises StatusChange inserts (any constant unique to
# this purpose). Holding it from the insert to the commit makes StatusChange ids commit in id order.
CHANGE_FEED_LOCK = 7_146_532_901


@dataclass(frozen=True)
class EvidenceItem:
    """One source a verdict cites, with a note on what it shows."""

    source: Source
    note: str = ""


def wrong_scale_message(status: Status, kind: str) -> str:
    """Why a status cannot rate a claim of this kind: the words of record_verdict and the admin's form."""
    return (
        f"“{status.label}” is on the {status.get_scale_display()} scale; a {Kind(kind).label} claim is rated "
        f"on the {Status(scale=scale_for_kind(kind)).get_scale_display()} scale."
    )


def record_verdict(
    *,
    claim: Claim,
    status: Status,
    summary: str,
    explanation: str = "",
    evidence: Iterable[EvidenceItem] = (),
    publish: bool = True,
    published_at: datetime | None = None,
    by: AbstractBaseUser | None = None,
) -> Verdict:
    """Record a verdict on a claim; when published, it becomes the claim's status.

    One transaction: locks the claim row (SELECT … FOR UPDATE, so two editors publishing at once are
    applied one after the other), saves the verdict and its evidence, and, when `publish` is true, sets
    the claim's status and status_changed_at and appends a StatusChange. A draft (`publish=False`) changes
    nothing public. `published_at` defaults to now; it may be backdated, but not before the claim's
    current status or into the future.

    Raises ValidationError, and saves nothing, on a status from the wrong scale, an empty summary, a bad
    publication time or a source cited twice. Costs about six queries plus one per evidence batch.
    """
    evidence = list(evidence)
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
        errors: dict[str, list[str]] = {}
        if status.scale != claim.expected_scale:
            errors.setdefault("status", []).append(wrong_scale_message(status, claim.kind))
        if not summary.strip():
            errors.setdefault("summary", []).append("A verdict needs a one-line summary.")
        sources = [item.source.pk for item in evidence]
        if len(sources) != len(set(sources)):
            errors.setdefault("evidence", []).append("Each source can be cited once per verdict.")
        if publish:
            published_at = published_at or timezone.now()
            errors.update(_publication_errors(claim, published_at))
        if errors:
            raise ValidationError(errors)

        verdict = Verdict(
            claim=claim,
            status=status,
            scale=claim.expected_scale,
            summary=summary.strip(),
            explanation=explanation.strip(),
            published_at=published_at if publish else None,
            created_by=by if by is not None and by.is_authenticated else None,
        )
        verdict.full_clean(exclude=["claim", "status", "created_by"])
        verdict.save()
        Evidence.objects.bulk_create(
            Evidence(verdict=verdict, source=item.source, note=item.note.strip(), position=position)
            for position, item in enumerate(evidence)
        )
        if publish:
            _make_current_status(claim, verdict, by)
    return verdict


def publish_verdict(
    *, verdict: Verdict, published_at: datetime | None = None, by: AbstractBaseUser | None = None
) -> Verdict:
    """Publish a draft verdict: it becomes its claim's status, with a StatusChange appended. One transaction.

    Raises ValidationError when the verdict is already published or the time is not acceptable.
    """
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=verdict.claim_id)
        verdict = Verdict.objects.select_for_update().select_related("status").get(pk=verdict.pk)
        if verdict.is_published:
            raise ValidationError("This verdict is already published.")
        published_at = published_at or timezone.now()
        errors = _publication_errors(claim, published_at)
        if errors:
            raise ValidationError(errors)
        verdict.published_at = published_at
        verdict.save(update_fields=["published_at"])
        _make_current_status(claim, verdict, by)
    return verdict


def _publication_errors(claim: Claim, published_at: datetime) -> dict[str, list[str]]:
    if published_at > timezone.now() + timedelta(minutes=1):
        return {"published_at": ["A verdict cannot be published in the future."]}
    if claim.status_changed_at is not None and published_at <= claim.status_changed_at:
        return {
            "published_at": [
                "The claim already has a verdict published at "
                f"{claim.status_changed_at:%Y-%m-%d %H:%M %Z}; a new one must be published after it."
            ]
        }
    return {}


def _make_current_status(claim: Claim, verdict: Verdict, by: AbstractBaseUser | None) -> None:
    """Make a published verdict the claim's status and append the StatusChange (caller holds the claim lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_FEED_LOCK])
    StatusChange.objects.create(
        claim=claim,
        from_status_id=claim.status_id,
        to_status_id=verdict.status_id,
        verdict=verdict,
        published_at=verdict.published_at,
        published_by=by if by is not None and by.is_authenticated else None,
    )
    claim.status_id = verdict.status_id
    claim.status_changed_at = verdict.published_at
    claim.save(update_fields=["status", "status_changed_at", "updated_at"])
