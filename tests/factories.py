"""Small factory functions for test data. fixtures/ holds the default data only."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import Group, User

from claims.models import Claim, Fidelity, Kind, Scale, Source, Speaker, Status
from claims.services import EvidenceItem, archive_source_text, record_verdict, save_claim

# The query factcheck.caching makes for every anonymous request of a public page or the API: the site clock,
# read before the view (a 304 needs nothing else). The pinned query counts of those requests add it.
SITE_CLOCK = 1

_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


def make_speaker(**fields) -> Speaker:
    n = _n()
    fields.setdefault("name", f"Speaker {n}")
    fields.setdefault("slug", f"speaker-{n}")
    fields.setdefault("role", "Spokesperson")
    return Speaker.objects.create(**fields)


def make_source(*, archived_text: str = "", archived_at: datetime | None = None, **fields) -> Source:
    """A source; with `archived_text`, its text captured (at `archived_at`, default now) as a snapshot."""
    n = _n()
    fields.setdefault("title", f"Source {n}")
    fields.setdefault("publisher", "The Daily Record")
    fields.setdefault("url", f"https://news.example/{n}")
    fields.setdefault("published_on", date(2025, 5, 19))
    source = Source.objects.create(**fields)
    if archived_text:
        archive_source_text(source=source, text=archived_text, captured_at=archived_at)
    return source


def make_status(**fields) -> Status:
    """A status; by default a new one on the accuracy scale. Use get_status() for the shipped ones."""
    n = _n()
    fields.setdefault("scale", Scale.ACCURACY)
    fields.setdefault("slug", f"status-{n}")
    fields.setdefault("label", f"Status {n}")
    fields.setdefault("position", 1)
    return Status.objects.create(**fields)


def get_status(slug: str) -> Status:
    """One of the statuses the migrations/fixtures ship (loaded by the `statuses` fixture in conftest)."""
    return Status.objects.get(slug=slug)


def make_claim(**fields) -> Claim:
    """A claim, unrated. A quote whose fidelity is not given is checked as verbatim through save_claim when
    the source has an archived text (found, or refused); without one it is a paraphrase, not checked. A
    fidelity given is written as it is, unchecked (a verbatim quote then stays unverified)."""
    n = _n()
    if "speaker" not in fields:
        fields["speaker"] = make_speaker()
    if "source" not in fields:
        fields["source"] = make_source()
    fields.setdefault("slug", f"claim-{n}")
    fields.setdefault("text", f"Claim number {n} is a checkable statement.")
    fields.setdefault("kind", Kind.FACT)
    fields.setdefault("said_on", date(2025, 5, 19))
    if fields.get("quote") and "fidelity" not in fields:
        if fields["source"].snapshots.exists():
            return save_claim(claim=Claim(fidelity=Fidelity.VERBATIM, **fields))
        fields["fidelity"] = Fidelity.PARAPHRASE
    return Claim.objects.create(**fields)


def make_rated_claim(
    status: Status | None = None, evidence: list[EvidenceItem] | None = None, **fields
) -> Claim:
    """A claim with one published verdict (so it is public), through the one write path."""
    claim = make_claim(**fields)
    if status is None:
        status = Status.objects.filter(scale=claim.expected_scale).order_by(
            "-position"
        ).first() or make_status(scale=claim.expected_scale)
    record_verdict(claim=claim, status=status, summary="Checked against the record.", evidence=evidence or [])
    claim.refresh_from_db()
    return claim


def make_rated_claims(
    count: int,
    *,
    status: Status | None = None,
    published_at: datetime | None = None,
    speaker_fields: dict[str, Any] | None = None,
    source_fields: dict[str, Any] | None = None,
    **fields: Any,
) -> list[Claim]:
    """`count` published claims, oldest status change first, each rated through the one write path.

    Unless `fields` names a speaker or a source, each claim gets its own (with `speaker_fields` /
    `source_fields`); speakers, sources and claims are inserted in one query each. Each verdict is
    published when it is recorded; with `published_at`, all at that one moment (rows that tie on a list's
    first key). Without `status`, each claim gets the best status of its scale.
    """
    numbers = [_n() for _ in range(count)]
    speakers = [fields.pop("speaker", None)] * count
    if speakers[0] is None:
        speakers = Speaker.objects.bulk_create(
            Speaker(
                **{
                    "name": f"Speaker {n}",
                    "slug": f"speaker-{n}",
                    "role": "Spokesperson",
                    **(speaker_fields or {}),
                }
            )
            for n in numbers
        )
    sources = [fields.pop("source", None)] * count
    if sources[0] is None:
        sources = Source.objects.bulk_create(
            Source(
                **{
                    "title": f"Source {n}",
                    "publisher": "The Daily Record",
                    "url": f"https://news.example/{n}",
                    "published_on": date(2025, 5, 19),
                    **(source_fields or {}),
                }
            )
            for n in numbers
        )
    fields = {"kind": Kind.FACT, "said_on": date(2025, 5, 19), **fields}
    claims = Claim.objects.bulk_create(
        Claim(
            speaker=speaker,
            source=source,
            **{"slug": f"claim-{n}", "text": f"Claim number {n} is a checkable statement.", **fields},
        )
        for n, speaker, source in zip(numbers, speakers, sources, strict=True)
    )
    best = {scale: Status.objects.filter(scale=scale).order_by("-position").first() for scale in Scale.values}
    for claim in claims:
        record_verdict(
            claim=claim,
            status=status or best[claim.expected_scale],
            summary="Checked against the record.",
            published_at=published_at,
        )
    return list(
        Claim.objects.filter(pk__in=[claim.pk for claim in claims]).order_by("status_changed_at", "id")
    )


def make_user(*, editor: bool = False, reviewer: bool = False, **fields) -> User:
    """A user; a staff member of the Editors group with `editor`, of the Reviewers group with `reviewer`
    (both groups are made by migration 0014)."""
    n = _n()
    fields.setdefault("username", f"user{n}")
    user = User.objects.create_user(password="a-long-test-password", **fields)
    if editor or reviewer:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(Group.objects.get(name="Reviewers" if reviewer else "Editors"))
    return user
