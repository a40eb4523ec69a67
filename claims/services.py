"""The writes that change what the public sees of a claim. Each is one transaction.

The admin, management commands and tests call these (the API is read-only); nothing else sets a claim's
status, status_changed_at, or appends a StatusChange, and the database refuses any other writer (migration
0007): a claim's status can only become its latest published verdict's, and the changes feed runs forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from claims.models import (
    CLAIM_EDITABLE_COLUMNS,
    Claim,
    Evidence,
    Fidelity,
    Kind,
    Source,
    SourceSnapshot,
    Status,
    StatusChange,
    Verdict,
    scale_for_kind,
)
from claims.quotes import closest_passage, find_quote

# Key of the transaction-level advisory lock that serialises StatusChange inserts (any constant unique to
# this purpose). Holding it from the insert to the commit makes StatusChange ids commit in id order. The
# database's own insert trigger on claims_change takes it too (migration 0007), so no writer can skip it.
CHANGE_FEED_LOCK = 7_146_532_901

# How far ahead of the database clock an explicit publication time may be (a clock set a little fast).
FUTURE_LEEWAY = timedelta(minutes=1)

Errors = dict[str | None, list[str]]


@dataclass(frozen=True)
class EvidenceItem:
    """One source a verdict cites, with a note on what it shows."""

    source: Source
    note: str = ""


def acting_user(by: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    """The user a write is recorded against: None for nobody or an anonymous request."""
    return by if by is not None and by.is_authenticated else None


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


def _refuse(errors: Errors) -> None:
    if errors:
        # Errors on the verdict as a whole go under NON_FIELD_ERRORS, as ValidationError expects.
        raise ValidationError({field or "__all__": messages for field, messages in errors.items()})


def save_claim(*, claim: Claim) -> Claim:
    """Save a claim's own fields (text, quote, kind, dates, speaker, source); never its status.

    A new claim is inserted unrated. An existing one is locked first (SELECT … FOR UPDATE, so a verdict
    being published on it meanwhile is applied before or after, never half), its kind is checked again
    under the lock (a claim with verdicts keeps its scale), and only its own columns are written.

    A verbatim quote is checked against the source's latest archived text and where it was found is stored
    (_verify_quote): one query for the snapshot, and for an edit one to read what was saved.

    Raises ValidationError, and writes nothing, when the claim was said after today, the kind would move
    a claim that has verdicts to the other scale, or a verbatim quote is not in the source's archived text.
    Costs one insert for a new claim; two queries for an edit (lock, update), and an EXISTS more when the
    kind changes scale; plus the quote's check.
    """
    _refuse(said_on_errors(said_on=claim.said_on))
    with transaction.atomic():
        if claim._state.adding:
            _verify_quote(claim)
            claim.save()
            return claim
        current = Claim.objects.select_for_update().only("kind", "scale").get(pk=claim.pk)
        _refuse(kind_errors(claim=current, kind=claim.kind))
        _verify_quote(claim)
        claim.save(update_fields=CLAIM_EDITABLE_COLUMNS)
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


def _verify_quote(claim: Claim) -> None:
    """Set the claim's fidelity and where its verbatim quote was found, or refuse (ValidationError).

    A claim without a quote has no fidelity; a quote without one is verbatim. A claim whose quote, fidelity
    and source are unchanged keeps the verification it has (a fact about a snapshot, which never changes),
    even if a later capture of the source no longer holds the words. Called by save_claim inside its
    transaction, under the claim's row lock for an edit. One query to read what is saved (an edit), one for
    the latest snapshot (a verbatim quote to check).
    """
    if not claim.quote:
        claim.fidelity = ""
    elif not claim.fidelity:
        claim.fidelity = Fidelity.VERBATIM
    if claim.pk is not None and claim.quote_snapshot_id is not None:
        saved = Claim.objects.filter(pk=claim.pk).values(
            "quote", "fidelity", "source_id", "quote_snapshot_id"
        )
        if saved and saved[0] == {
            "quote": claim.quote,
            "fidelity": claim.fidelity,
            "source_id": claim.source_id,
            "quote_snapshot_id": claim.quote_snapshot_id,
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
) -> Verdict:
    """Rewrite a draft verdict's status, summary and explanation.

    Locks the verdict row (SELECT … FOR UPDATE): publish_verdict takes the same lock, so the draft is
    either rewritten before it is published or refused after. Raises ValidationError, and writes nothing,
    when the verdict was published meanwhile or the new status or summary is wrong. Three queries.
    """
    with transaction.atomic():
        current = Verdict.objects.select_for_update().select_related("claim").get(pk=verdict.pk)
        if current.is_published:
            raise ValidationError(
                "This verdict was published meanwhile, and a published verdict cannot be changed. Record a "
                "new verdict on its claim instead."
            )
        _refuse(verdict_errors(claim=current.claim, status=status, summary=summary, publish=False))
        current.status, current.summary, current.explanation = status, summary.strip(), explanation.strip()
        current.save(update_fields=["status", "summary", "explanation"])
    verdict.status, verdict.summary, verdict.explanation = (
        current.status,
        current.summary,
        current.explanation,
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
) -> Verdict:
    """Record a verdict on a claim; when published, it becomes the claim's status.

    One transaction: locks the claim row (SELECT … FOR UPDATE, so two editors publishing at once are
    applied one after the other), saves the verdict and its evidence as a draft, and, when `publish` is
    true, publishes it (publish_verdict's steps: the feed's lock, the time, the StatusChange, the claim's
    status). A draft (`publish=False`) changes nothing public. `published_at` defaults to the database's
    clock read under the feed's lock; it may be backdated, but not before the claim's current status nor
    before the latest entry of the changes feed, and not into the future.

    Raises ValidationError, and saves nothing, on a status from the wrong scale, an empty summary, a bad
    publication time or a source cited twice. Costs about eight queries plus one per evidence batch.
    """
    evidence = list(evidence)
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
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
    *, verdict: Verdict, published_at: datetime | None = None, by: AbstractBaseUser | None = None
) -> Verdict:
    """Publish a draft verdict: it becomes its claim's status, with a StatusChange appended. One transaction.

    Raises ValidationError when the verdict is already published or the time is not acceptable.
    About six queries.
    """
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=verdict.claim_id)
        verdict = Verdict.objects.select_for_update().select_related("status").get(pk=verdict.pk)
        if verdict.is_published:
            raise ValidationError("This verdict is already published.")
        _publish(claim, verdict, published_at, by)
    return verdict


def _publish(
    claim: Claim, verdict: Verdict, published_at: datetime | None, by: AbstractBaseUser | AnonymousUser | None
) -> None:
    """Publish a saved draft (the caller holds the claim's row lock): the verdict's time, a StatusChange,
    and the claim's status, all at one time read under the changes feed's lock.

    Raises ValidationError for a time in the future, not after the claim's current status, or before the
    feed's latest entry. Four queries.
    """
    now = lock_the_change_feed()
    latest = StatusChange.objects.order_by("-id").values_list("published_at", flat=True).first()
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
    StatusChange.objects.create(
        claim=claim,
        from_status_id=claim.status_id,
        to_status_id=verdict.status_id,
        verdict=verdict,
        published_at=published_at,
        published_by=acting_user(by),
    )
    # A queryset update, not claim.save(): Claim.save() never writes the status columns.
    Claim.objects.filter(pk=claim.pk).update(
        status=verdict.status_id, status_changed_at=published_at, updated_at=timezone.now()
    )
    claim.status_id, claim.status_changed_at = verdict.status_id, published_at
