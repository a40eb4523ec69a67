"""The API's JSON shapes. Every serializer lists its fields; list and detail shapes are apart where they differ.

What the API answers is read-only (and the schema marks every field as always present); the write shapes, at
the end, are what a client with an API key sends.

The nested "brief" shapes (status, speaker, source) are the same wherever they appear, so a consumer parses
one shape per thing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from claims.models import (
    Claim,
    Correction,
    Event,
    EventType,
    Fidelity,
    Kind,
    Source,
    Speaker,
    Status,
    Verdict,
    WebhookEndpoint,
    overdue_since,
    quote_in_window,
)
from claims.site_urls import SLUG_MARK, absolute_url, path_around
from claims.webhooks import validate_endpoint_url


class StatusBriefSerializer(serializers.ModelSerializer):
    """A status as it appears on a claim, a verdict or a change."""

    class Meta:
        model = Status
        fields = ["slug", "label", "scale", "position"]
        read_only_fields = fields


class StatusSerializer(serializers.ModelSerializer):
    """A status with what readers see of it: its colour and its meaning."""

    class Meta:
        model = Status
        fields = [*StatusBriefSerializer.Meta.fields, "colour", "description"]
        read_only_fields = fields


class SpeakerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Speaker
        fields = ["id", "slug", "name", "role"]
        read_only_fields = fields


class SourceBriefSerializer(serializers.ModelSerializer):
    """A source on a claim or in a verdict's evidence (which comes as a JSON object: the same fields)."""

    class Meta:
        model = Source
        fields = ["id", "title", "publisher", "url", "published_on"]
        read_only_fields = fields


class EvidenceSerializer(serializers.Serializer):
    """One source a verdict cites, with a note. Reads the `evidence_list` JSON of VerdictQuerySet.with_evidence."""

    source = SourceBriefSerializer(read_only=True)
    note = serializers.CharField(read_only=True, help_text="What this source shows.")


class VerdictSerializer(serializers.ModelSerializer):
    status = StatusBriefSerializer(read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True, source="evidence_list")

    class Meta:
        model = Verdict
        fields = ["id", "status", "summary", "explanation", "evidence", "published_at"]
        read_only_fields = fields


class ClaimSerializer(serializers.ModelSerializer):
    """A claim in a list: with its speaker, source and current status, and links to itself."""

    speaker = SpeakerBriefSerializer(read_only=True)
    source = SourceBriefSerializer(read_only=True)
    status = StatusBriefSerializer(
        read_only=True, allow_null=True, help_text="The latest published verdict's status."
    )
    url = serializers.HyperlinkedIdentityField(
        view_name="api:claim-detail", help_text="This claim in the API."
    )
    html_url = serializers.SerializerMethodField(help_text="The claim's public page.")
    fidelity = serializers.ChoiceField(
        choices=[("", "No quote"), *Fidelity.choices],
        read_only=True,
        help_text="How the quote stands to the source: `verbatim` (the speaker's words as the source quotes "
        "them), `paraphrase` or `reported` (the source's indirect account); empty when there is no quote.",
    )
    quote_verified = serializers.BooleanField(
        read_only=True,
        help_text="Whether the quote is verbatim and was found in the source's archived text. Only a "
        "verified quote is the speaker's exact words as the source quotes them.",
    )
    overdue = serializers.SerializerMethodField(
        help_text="Whether the claim is overdue: a promise or prediction whose due date has passed while its "
        "status is still open (Open, In progress). Reckoned from today in the site's time zone (with "
        "`as_of`, from that day); it stays overdue until an editor records a verdict that settles it."
    )
    overdue_since = serializers.SerializerMethodField(
        help_text="The first day the claim was overdue (the day after its due date); null when not overdue."
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "slug",
            "text",
            "quote",
            "fidelity",
            "quote_verified",
            "kind",
            "speaker",
            "source",
            "said_on",
            "due_on",
            "overdue",
            "overdue_since",
            "status",
            "status_changed_at",
            "url",
            "html_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, claim: Claim) -> str:
        return claim.public_url(self.context.get("request"))

    def today(self) -> date:
        """The day overdue is reckoned from: the view's (as_of, or today), else today in the site's zone."""
        return self.context.get("today") or timezone.localdate()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_overdue(self, claim: Claim) -> bool:
        return claim.overdue_since(self.today()) is not None

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_overdue_since(self, claim: Claim) -> date | None:
        return claim.overdue_since(self.today())


class JsonDateTimeField(serializers.DateTimeField):
    """A time that comes as an ISO string inside a JSON annotation, shown as every other time of the API."""

    def to_representation(self, value: Any) -> str | None:
        return super().to_representation(datetime.fromisoformat(value) if isinstance(value, str) else value)


CHANGES_HELP = (
    "What changed, by field (text, quote, speaker, source, said_on, kind, or status for a changed rating): "
    '{"old": ..., "new": ...}; a speaker as {"id", "name"}, a source as {"id", "title"}, a status by its label.'
)


class ClaimCorrectionSerializer(serializers.Serializer):
    """A correction on a claim's detail. Reads the `correction_list` JSON of ClaimQuerySet.with_corrections."""

    id = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True, help_text="What was corrected and why.")
    changes = serializers.JSONField(read_only=True, help_text=CHANGES_HELP)
    at = JsonDateTimeField(source="published_at", read_only=True, help_text="When it was published.")


class QuoteContextSerializer(serializers.Serializer):
    """A verified quote in its paragraph of the source, and where the source is. Never the whole text."""

    before = serializers.CharField(
        read_only=True, help_text="The paragraph before the quote (cut at a sentence)."
    )
    quote = serializers.CharField(read_only=True, help_text="The quote as the source's text has it.")
    after = serializers.CharField(
        read_only=True, help_text="The paragraph after the quote (cut at a sentence)."
    )
    source_url = serializers.URLField(read_only=True, help_text="The original document.")
    captured_at = serializers.DateTimeField(
        read_only=True, help_text="When the archived text the quote was found in was captured."
    )


class ClaimDetailSerializer(ClaimSerializer):
    """A claim with its timeline (the published verdicts, newest first, each with its evidence) and its
    corrections, newest first."""

    verdicts = VerdictSerializer(many=True, read_only=True, source="timeline")
    corrections = ClaimCorrectionSerializer(many=True, read_only=True, source="correction_list")
    quote_context = serializers.SerializerMethodField(
        help_text="A verified quote in its paragraph of the source; null for no quote, a paraphrase, reported "
        "speech or a quote not verified."
    )

    version = serializers.IntegerField(
        read_only=True,
        help_text="The claim's edit count: send it as `expected_version` to edit the claim (PATCH, with an API "
        "key), so an edit made since you read it is not overwritten.",
    )

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "version", "quote_context", "verdicts", "corrections"]
        read_only_fields = fields

    @extend_schema_field(QuoteContextSerializer(allow_null=True))
    def get_quote_context(self, claim: Claim) -> dict | None:
        found = claim.quote_context()
        if found is None:
            return None
        return QuoteContextSerializer(
            {
                "before": found.before,
                "quote": found.quote,
                "after": found.after,
                "source_url": claim.source.url,
                "captured_at": claim.quote_captured_at,
            }
        ).data


# The read path of the claim list and detail -----------------------------------------------------------------
# ClaimSerializer and ClaimDetailSerializer describe the claim's JSON (drf-spectacular reads them) and answer
# the writes. The reads write the same JSON from plain rows (ClaimQuerySet.as_rows, VerdictQuerySet.
# timeline_rows) with ClaimJson below, made once per page: DRF would build every serializer's fields afresh
# for each request (six serializers a claim detail), run a field's get_attribute and to_representation for
# each value of each row, and reverse two URLs per claim, which together cost more than the query. What
# ClaimJson writes is what those serializers write, value for value (tests/test_api_contract.py compares the
# two on awkward data, and the answers byte for byte with the ones recorded before).


def _date(value: date | None) -> str | None:
    """A date as DRF's DateField writes it: ISO 8601 (YYYY-MM-DD). Times: ClaimJson.time."""
    return None if value is None else value.isoformat()


# Stands for a claim's id in the one API path reversed per process: digits, and no real id's length.
_ID_MARK = "9" * 30


class ClaimJson:
    """ClaimSerializer's and ClaimDetailSerializer's JSON of claim rows, for one request.

    The two links are made as HyperlinkedIdentityField makes `url` (DRF's reverse: the path, with the
    request's format suffix, on the request's host) and as Claim.public_url makes `html_url` (on SITE_URL
    when set), from paths reversed once per process around a placeholder id or slug (site_urls.path_around)
    that a row's own then replaces (an id is digits, a slug is ASCII letters, digits, - and _, which a URL
    holds as they are).
    """

    def __init__(self, request: Any, *, today: date, format: str | None = None) -> None:
        self.today = today
        self.zone = timezone.get_current_timezone()
        before, after = path_around("api:claim-detail", "pk", _ID_MARK, format)
        self.api_url = (request.build_absolute_uri(before), after)
        before, after = path_around("claims:claim-detail", "slug", SLUG_MARK)
        self.page_url = (absolute_url(before, request), after)

    def time(self, value: datetime | None) -> str | None:
        """A time as DRF's DateTimeField writes it (its enforce_timezone and ISO 8601 format): in the current
        time zone, "Z" for UTC. The zone is read once per page (DRF reads it per value, which costs more than
        the rest of the value's writing)."""
        if value is None:
            return None
        text = value.astimezone(self.zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def claim(self, row: dict[str, Any]) -> dict[str, Any]:
        """A claim in a list (ClaimSerializer), from a row of ClaimQuerySet.as_rows()."""
        published = row["status__slug"] is not None
        since = (
            overdue_since(
                kind=row["kind"], due_on=row["due_on"], is_open=row["status__is_open"], today=self.today
            )
            if published
            else None
        )
        return {
            "id": row["id"],
            "slug": row["slug"],
            "text": row["text"],
            "quote": row["quote"],
            "fidelity": row["fidelity"],
            "quote_verified": row["fidelity"] == Fidelity.VERBATIM and row["quote_snapshot_id"] is not None,
            "kind": row["kind"],
            "speaker": {
                "id": row["speaker__id"],
                "slug": row["speaker__slug"],
                "name": row["speaker__name"],
                "role": row["speaker__role"],
            },
            "source": {
                "id": row["source__id"],
                "title": row["source__title"],
                "publisher": row["source__publisher"],
                "url": row["source__url"],
                "published_on": _date(row["source__published_on"]),
            },
            "said_on": _date(row["said_on"]),
            "due_on": _date(row["due_on"]),
            "overdue": since is not None,
            "overdue_since": _date(since),
            "status": _status(row) if published else None,
            "status_changed_at": self.time(row["status_changed_at"]),
            "url": f"{self.api_url[0]}{row['id']}{self.api_url[1]}",
            "html_url": f"{self.page_url[0]}{row['slug']}{self.page_url[1]}",
            "created_at": self.time(row["created_at"]),
            "updated_at": self.time(row["updated_at"]),
        }

    def detail(self, row: dict[str, Any], verdicts: list[dict[str, Any]]) -> dict[str, Any]:
        """A claim's detail (ClaimDetailSerializer), from a row of ClaimQuerySet.with_corrections()
        .with_quote_context().as_rows() and its timeline (VerdictQuerySet.timeline_rows)."""
        return {
            **self.claim(row),
            "version": row["version"],
            "quote_context": self.quote_context(row),
            "verdicts": [self.verdict(verdict) for verdict in verdicts],
            "corrections": [
                {
                    "id": correction["id"],
                    "note": correction["note"],
                    "changes": correction["changes"],
                    # A time inside JSON is a string (PostgreSQL's ISO 8601): read back first.
                    "at": self.time(datetime.fromisoformat(correction["published_at"])),
                }
                for correction in row["correction_list"]
            ],
        }

    def verdict(self, row: dict[str, Any]) -> dict[str, Any]:
        """VerdictSerializer's JSON of a row of VerdictQuerySet.timeline_rows; its evidence comes as JSON (dates
        as the strings they are there, which DRF's DateField writes as they are)."""
        return {
            "id": row["id"],
            "status": _status(row),
            "summary": row["summary"],
            "explanation": row["explanation"],
            "evidence": [
                {
                    "source": {
                        "id": item["source"]["id"],
                        "title": item["source"]["title"],
                        "publisher": item["source"]["publisher"],
                        "url": item["source"]["url"],
                        "published_on": item["source"]["published_on"],
                    },
                    "note": item["note"],
                }
                for item in row["evidence_list"]
            ],
            "published_at": self.time(row["published_at"]),
        }

    def quote_context(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """QuoteContextSerializer's JSON of a row's verified quote in its paragraph; None as for Claim.quote_context."""
        window = row["quote_window"]
        if row["fidelity"] != Fidelity.VERBATIM or row["quote_snapshot_id"] is None or window is None:
            return None
        found = quote_in_window(
            window, row["quote_window_start"], start=row["quote_start"], end=row["quote_end"]
        )
        return {
            "before": found.before,
            "quote": found.quote,
            "after": found.after,
            "source_url": row["source__url"],
            "captured_at": self.time(row["quote_captured_at"]),
        }


def _status(row: dict[str, Any]) -> dict[str, Any]:
    """StatusBriefSerializer's JSON of a row's status (its status__ columns)."""
    return {
        "slug": row["status__slug"],
        "label": row["status__label"],
        "scale": row["status__scale"],
        "position": row["status__position"],
    }


class ClaimBriefSerializer(ClaimSerializer):
    """The claim a status change is about."""

    class Meta(ClaimSerializer.Meta):
        fields = ["id", "slug", "text", "url", "html_url"]
        read_only_fields = fields


class CorrectionBriefSerializer(serializers.Serializer):
    """What a correction says: its note and what it changed."""

    note = serializers.CharField(read_only=True, help_text="What was corrected and why.")
    changes = serializers.JSONField(read_only=True, help_text=CHANGES_HELP)


# The component keeps the name it had when the feed held status changes only, so generated clients keep theirs.
@extend_schema_serializer(component_name="StatusChange")
class FeedEntrySerializer(serializers.Serializer):
    """One entry of the changes feed: a status change (the fields it always had, and `type`) or a correction."""

    id = serializers.IntegerField(read_only=True, help_text="The entry's place in the feed: ids only go up.")
    claim = ClaimBriefSerializer(read_only=True)
    from_status = StatusBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The status before; null for a claim's first verdict, and for a correction of the claim's "
        "text or details.",
    )
    to_status = StatusBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The status after; null only for a correction of the claim's text or details.",
    )
    verdict = serializers.IntegerField(
        source="verdict_id",
        read_only=True,
        allow_null=True,
        help_text="The id of the verdict that made the change; null for a correction of the claim's text or "
        "details.",
    )
    at = serializers.DateTimeField(source="published_at", read_only=True, help_text="When it was published.")
    type = serializers.ChoiceField(
        choices=["status_change", "correction"],
        read_only=True,
        help_text="status_change: a verdict was published. correction: a published claim was corrected (its "
        "text or details, or its rating, with the status change of the same verdict just before it).",
    )
    correction = CorrectionBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The correction's note and changes; null for a status change.",
    )


class CorrectionSerializer(serializers.ModelSerializer):
    """A published correction: the claim, the note, what changed, and for a changed rating the verdict."""

    claim = ClaimBriefSerializer(read_only=True)
    changes = serializers.JSONField(read_only=True, help_text=CHANGES_HELP)
    verdict = serializers.IntegerField(
        source="verdict_id",
        read_only=True,
        allow_null=True,
        help_text="For a changed rating: the verdict that changed it; null otherwise.",
    )
    at = serializers.DateTimeField(source="published_at", read_only=True, help_text="When it was published.")

    class Meta:
        model = Correction
        fields = ["id", "claim", "note", "changes", "verdict", "at"]
        read_only_fields = fields


class SpeakerSerializer(serializers.ModelSerializer):
    """A speaker in a list, with the number of their published claims."""

    claim_count = serializers.IntegerField(read_only=True, help_text="How many published claims they made.")
    url = serializers.HyperlinkedIdentityField(
        view_name="api:speaker-detail", lookup_field="slug", help_text="This speaker in the API."
    )
    html_url = serializers.SerializerMethodField(help_text="The speaker's public page.")

    class Meta:
        model = Speaker
        fields = ["id", "slug", "name", "role", "claim_count", "url", "html_url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, speaker: Speaker) -> str:
        return absolute_url(speaker.get_absolute_url(), self.context.get("request"))


class SpeakerDetailSerializer(SpeakerSerializer):
    # A CharField, not a URLField: the value is empty when we know no page, which is no URI.
    profile_url = serializers.CharField(
        source="url",
        read_only=True,
        help_text="The URL of the speaker's official page or profile; empty when not known.",
    )

    class Meta(SpeakerSerializer.Meta):
        fields = [*SpeakerSerializer.Meta.fields, "description", "profile_url"]
        read_only_fields = fields


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "title", "publisher", "authors", "url", "published_on"]
        read_only_fields = fields


class SourceDetailSerializer(SourceSerializer):
    """A source with when its text was last archived and the text's SHA-256, so a copy can be checked
    against ours. The text itself is not published: readers get a quote in its paragraph (a claim's
    quote_context) and the link to the original."""

    archived_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the latest archived copy of the text was captured."
    )
    archived_sha256 = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The SHA-256 (hex) of the latest archived copy's UTF-8 text; null without one.",
    )

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "archived_at", "archived_sha256"]
        read_only_fields = fields


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """A webhook endpoint as its owner registers and reads it (the API's /api/v1/webhooks/, for key holders
    with the manage_webhooks scope). The secret is never in it: WebhookEndpointCreatedSerializer answers a
    creation (and a rotation) with it, once."""

    speaker = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Speaker.objects.all(),
        allow_null=True,
        required=False,
        help_text="Only events of this speaker's claims (their slug); null: every speaker.",
    )
    claim = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.published(),
        allow_null=True,
        required=False,
        help_text="Only this published claim's events (its id); null: every claim.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        allow_empty=True,
        help_text="Only these types of event; empty: all of them.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "speaker",
            "claim",
            "event_types",
            "is_active",
            "disabled_reason",
            "disabled_at",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "disabled_reason",
            "disabled_at",
            "previous_secret_expires_at",
            "created_at",
        ]
        extra_kwargs = {
            "is_active": {
                "help_text": "Events are sent to active endpoints only. Set true again to re-enable "
                "an endpoint factcheck disabled: its `disabled_reason` is cleared."
            },
            "disabled_reason": {
                "help_text": "Why factcheck disabled it (a 410 Gone, days of failures); empty while active."
            },
            "previous_secret_expires_at": {
                "help_text": "After a rotation, the previous secret also signs "
                "until then (24 hours); null otherwise."
            },
        }

    def validate_url(self, url: str) -> str:
        try:
            validate_endpoint_url(url)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return url

    def validate_event_types(self, event_types: list[str]) -> list[str]:
        return sorted(set(event_types))


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to a creation or a rotation: the endpoint and its secret, shown this once."""

    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret, `whsec_…`: shown in this answer only (no list or read shows it again). "
        "Verify each request's `webhook-signature` with it (Standard Webhooks).",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


# The events feed (/api/v1/events/) -----------------------------------------------------------------------
# An event's `data` is its payload as claims.events wrote it when it happened, passed through unchanged: the
# same body a webhook delivers. The serializers below only describe it in the OpenAPI document.


class EventSpeakerSerializer(serializers.Serializer):
    """The claim's speaker when the event happened."""

    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class EventClaimSerializer(serializers.Serializer):
    """The claim as the event shows it, as it was when the event happened."""

    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=Kind.choices, read_only=True)
    said_on = serializers.DateField(read_only=True)
    due_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="A promise's or prediction's due date; null for a fact."
    )
    # Absolute on a site with SITE_URL set; else the page's path.
    url = serializers.CharField(read_only=True, help_text="The claim's public page.")
    speaker = EventSpeakerSerializer(read_only=True)


class EventVerdictSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    summary = serializers.CharField(read_only=True, help_text="The verdict in a sentence.")
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)


class EventCorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True, help_text="What was corrected and why.")
    changes = serializers.JSONField(read_only=True, help_text=CHANGES_HELP)


class EventOverdueSerializer(serializers.Serializer):
    due_on = serializers.DateField(read_only=True, help_text="The due date the claim passed.")
    overdue_since = serializers.DateField(read_only=True, help_text="The first day it was overdue.")


class EventDataSerializer(serializers.Serializer):
    """An event's data. Every event has every key; what does not apply to its type is null."""

    claim = EventClaimSerializer(read_only=True)
    status = StatusBriefSerializer(
        read_only=True, allow_null=True, help_text="The claim's status once the event happened."
    )
    from_status = StatusBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="A status change's or a changed rating's status before; null for a claim's first verdict "
        "and for the other events.",
    )
    to_status = StatusBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="A status change's or a changed rating's status after; null for the other events.",
    )
    verdict = EventVerdictSerializer(
        read_only=True,
        allow_null=True,
        help_text="The verdict of a status change or a changed rating (its summary); null otherwise.",
    )
    correction = EventCorrectionSerializer(
        read_only=True, allow_null=True, help_text="A correction's note and changes; null otherwise."
    )
    overdue = EventOverdueSerializer(
        read_only=True, allow_null=True, help_text="For claim.overdue: the due date passed; null otherwise."
    )


@extend_schema_field(EventDataSerializer)
class EventDataField(serializers.JSONField):
    """The payload, as stored: no field is re-read or re-formatted on the way out."""


class EventSerializer(serializers.ModelSerializer):
    """One public event, in the Standard Webhooks payload's shape (`type`, `timestamp`, `data`) with its id:
    the body of a webhook delivery of the same event."""

    id = serializers.IntegerField(
        read_only=True, help_text="The event's place in the feed: ids only go up, in commit order."
    )
    type = serializers.ChoiceField(
        choices=EventType.choices,
        read_only=True,
        help_text="claim.status_changed: a verdict was published. claim.corrected: a published claim was "
        "corrected (its text or details, or a fact's rating, right after that verdict's status change). "
        "claim.overdue: a promise or prediction passed its due date while still open (once per due date).",
    )
    timestamp = serializers.DateTimeField(source="created_at", read_only=True, help_text="When it happened.")
    data = EventDataField(source="payload", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "timestamp", "data"]
        read_only_fields = fields


# Writes (an API key's client: claims.api.keys) ------------------------------------------------------------
# The shapes a write reads. They check types only; the rules are the admin's own, applied after them (its
# forms for speakers, sources and claims, claims.services' checks for verdicts), and the services write.


class SpeakerWriteSerializer(serializers.Serializer):
    """A new speaker."""

    name = serializers.CharField(max_length=200, help_text="As readers know them: “Donald Trump”.")
    slug = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The end of the speaker's address; left out, made from the name.",
    )
    role = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    url = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="An official page or profile."
    )


class SourceWriteSerializer(serializers.Serializer):
    """A new source, with its text archived when given (needed to check a verbatim quote against)."""

    title = serializers.CharField(max_length=500)
    publisher = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    authors = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    url = serializers.CharField(max_length=1000, help_text="Where the document was published.")
    published_on = serializers.DateField(required=False, allow_null=True, default=None)
    archived_text = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="The document's text exactly as received: archived as the source's first capture "
        "(takes the claims.add_sourcesnapshot permission). Never published.",
    )
    archived_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the text was captured; left out: now."
    )


class ClaimWriteSerializer(serializers.Serializer):
    """A new claim, unrated: it is published with its first published verdict."""

    text = serializers.CharField(help_text="The statement in the checker's neutral words.")
    slug = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Left out: made from the text."
    )
    speaker = serializers.IntegerField(help_text="The speaker's id.")
    source = serializers.IntegerField(help_text="The source's id.")
    quote = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    fidelity = serializers.ChoiceField(
        choices=[("", "No quote, or verbatim"), *Fidelity.choices],
        required=False,
        allow_blank=True,
        default="",
        help_text="A verbatim quote (the default for a quote) must be found in the source's archived text.",
    )
    kind = serializers.ChoiceField(choices=Kind.choices)
    said_on = serializers.DateField()
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    different_claim = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Claims much like this one exist: true once you have checked none of them is this claim "
        "(the 400 that asks for it lists none; the admin's claim page shows them).",
    )


class ClaimEditSerializer(serializers.Serializer):
    """An edit of a claim: the fields to change (any of a new claim's) and the version the client read."""

    expected_version = serializers.IntegerField(
        min_value=1,
        help_text="The claim's `version` as you read it: the edit is refused (409) if the claim was edited since.",
    )
    text = serializers.CharField(required=False)
    slug = serializers.CharField(max_length=200, required=False)
    speaker = serializers.IntegerField(required=False)
    source = serializers.IntegerField(required=False)
    quote = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    fidelity = serializers.ChoiceField(
        choices=[("", "No quote, or verbatim"), *Fidelity.choices], required=False, allow_blank=True
    )
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    said_on = serializers.DateField(required=False)
    due_on = serializers.DateField(required=False, allow_null=True)
    correction_note = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required when changing a published claim's text, quote, speaker, source, date said or kind: "
        "what was corrected and why, published as a correction.",
    )


class EvidenceWriteSerializer(serializers.Serializer):
    source = serializers.IntegerField(help_text="The cited source's id.")
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="What it shows.")


class VerdictWriteSerializer(serializers.Serializer):
    """A verdict on a claim: a draft, or published at once with `published` (see the operation)."""

    status = serializers.SlugRelatedField(
        slug_field="slug", queryset=Status.objects.all(), help_text="The status's slug (/api/v1/statuses/)."
    )
    summary = serializers.CharField(help_text="One line.")
    explanation = serializers.CharField(required=False, allow_blank=True, default="")
    evidence = EvidenceWriteSerializer(many=True, required=False, default=list)
    correction_note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the verdict changes a fact's published rating: the reason, published with it.",
    )
    published = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Publish at once: takes the publish_verdicts scope and the user's publish_verdict "
        "permission, and with review required (the default) is refused: a verdict is published by someone "
        "other than its author.",
    )
