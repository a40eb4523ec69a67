"""The read-only REST API. Every list starts from published data and costs one query a page at any size.

Anonymous users may read. Any write is refused: 403 for anonymous users and users without the model
permission, 405 for editors, as there are no write actions (a claim's status changes only through
claims.services, which the admin calls).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from claims.api.errors import RETRY_AFTER, problem_responses
from claims.api.serializers import (
    ClaimDetailSerializer,
    ClaimSerializer,
    CorrectionSerializer,
    EventSerializer,
    FeedEntrySerializer,
    SourceDetailSerializer,
    SourceSerializer,
    SpeakerDetailSerializer,
    SpeakerSerializer,
    StatusSerializer,
)
from claims.filters import AsOfField, ClaimFilterSet, SpeakerFilter
from claims.models import (
    ChangeFeed,
    Claim,
    ClaimQuerySet,
    Correction,
    CorrectionQuerySet,
    Event,
    EventQuerySet,
    EventType,
    OldSpeakerSlug,
    Source,
    SourceQuerySet,
    Speaker,
    SpeakerQuerySet,
    Status,
    StatusQuerySet,
    end_of_day,
)
from claims.pagination import (
    MAX_BIGINT,
    ChangeFeedPagination,
    ClaimPagination,
    CorrectionPagination,
    EventFeedPagination,
    SourcePagination,
    SpeakerPagination,
    whole_number,
)

# The errors every operation can answer (a problem document each, claims.api.errors): a list refuses a
# malformed or unknown parameter, a single item may not be published; any of them may be asked for a
# format we do not serve, be throttled, or find the database out of reach.
_LIST_ERRORS = problem_responses(400, 406, 429, 503)
_DETAIL_ERRORS = problem_responses(404, 406, 429, 503)


class PublicReadSchema(AutoSchema):
    """The OpenAPI description of an API operation: tagged by its resource, and public.

    Every operation is a read that anyone may make without signing in, and a signed-in user reads the same
    published data, so no operation lists a security requirement (drf-spectacular would list the session
    cookie: it does not know that DjangoModelPermissionsOrAnonReadOnly lets anyone read). Its throttled 429
    and outage 503 carry the Retry-After header.
    """

    def get_tags(self) -> list[str]:
        return [self.path.split("/")[3]]  # /api/v1/<resource>/...

    def get_auth(self) -> list[dict[str, list[str]]]:
        return []

    def get_override_parameters(self) -> list[OpenApiParameter]:
        return [*super().get_override_parameters(), RETRY_AFTER]


class PublicListMixin:
    """A list refuses query parameters it does not read (a 400 naming each), so a misspelt filter is not
    silently ignored: it reads its filters, its paginator's parameters (cursor and page_size, or after) and
    `format`.
    """

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        known = {"format", *getattr(self.pagination_class, "query_params", ())}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            known.update(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            accepted = ", ".join(sorted(known))
            raise ValidationError(
                {name: [f"Unknown parameter. This list reads: {accepted}."] for name in unknown}
            )
        return super().list(request, *args, **kwargs)  # type: ignore[misc]


@extend_schema_view(
    list=extend_schema(
        summary="List published claims",
        description="Claims with a published verdict, the latest status change first (by relevance first "
        "when searching with `q`). Paged by cursor: follow `next` and `previous`. With `as_of`, the claims as "
        "they stood at the end of that day, by their status change then.",
        responses={200: ClaimSerializer(many=True), **_LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A published claim with its verdicts",
        description="The claim, and its published verdicts newest first, each with its evidence. With "
        "`as_of`, the claim as it stood at the end of that day: its status then, and the verdicts published "
        "by then (a 404 when none was).",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                description="The claim as it stood at the end of this day (YYYY-MM-DD, site time zone, from "
                "1900 to today).",
            )
        ],
        responses={200: ClaimDetailSerializer, **problem_responses(400, 404, 406, 429, 503)},
    ),
)
class ClaimViewSet(PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    filterset_class = ClaimFilterSet
    pagination_class = ClaimPagination

    def get_queryset(self) -> ClaimQuerySet:
        """A list page is one query (speaker, source and status joined); a claim is two (plus its verdicts),
        its verified quote's paragraph read in the first (a window of the archived text, never all of it).

        The paginator orders the list: latest status change first, or by rank when searching. ?as_of= is a
        filter (ClaimFilterSet, for the list and a claim alike); a claim's timeline then stops at that day.
        """
        queryset = Claim.objects.published().for_listing()
        if self.action == "retrieve":
            # The corrections and the quote's paragraph come in the claim's own query, as annotations.
            day = self.as_of()
            before = end_of_day(day) if day is not None else None
            queryset = (
                queryset.with_timeline(before=before).with_corrections(before=before).with_quote_context()
            )
        return queryset

    def as_of(self) -> date | None:
        """?as_of=, read as the filters read it; a 400 naming it when it is no day we can answer for."""
        try:
            return AsOfField(required=False).clean(self.request.query_params.get("as_of"))
        except DjangoValidationError as error:
            raise ValidationError({"as_of": error.messages}) from None

    def get_serializer_context(self) -> dict[str, Any]:
        """`today`, the day `overdue` is reckoned from: ?as_of= when given, else today in the site's zone."""
        return {**super().get_serializer_context(), "today": self.as_of() or timezone.localdate()}

    def get_serializer_class(self) -> type[ClaimSerializer]:
        return ClaimDetailSerializer if self.action == "retrieve" else ClaimSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List speakers",
        description="Speakers with at least one published claim, by name.",
        responses={200: SpeakerSerializer(many=True), **_LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A speaker",
        description="A speaker's former slug answers with a permanent redirect (301) to their current one.",
        responses={200: SpeakerDetailSerializer, **_DETAIL_ERRORS},
    ),
)
class SpeakerViewSet(PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    lookup_field = "slug"
    pagination_class = SpeakerPagination

    def get_queryset(self) -> SpeakerQuerySet:
        """One query: speakers with a published claim, each with the count of their published claims."""
        return (
            Speaker.objects.published()
            .with_claim_counts()
            .order_by("name", "id")  # the paginator's order, for a single speaker too
        )

    def get_serializer_class(self) -> type[SpeakerSerializer]:
        return SpeakerDetailSerializer if self.action == "retrieve" else SpeakerSerializer

    def retrieve(
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response | HttpResponsePermanentRedirect:
        """The speaker; for a former slug (one query more, only when no speaker has it), a 301 to the current
        one, the query string kept."""
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            old = OldSpeakerSlug.objects.filter(slug=kwargs["slug"]).select_related("speaker").first()
            if old is None:
                raise
            url = reverse("api:speaker-detail", kwargs={"slug": old.speaker.slug})
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


@extend_schema_view(
    list=extend_schema(
        summary="List sources",
        description="Documents where published claims appeared or that published verdicts cite, the "
        "newest publication first (sources without a date last).",
        responses={200: SourceSerializer(many=True), **_LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A source",
        description="A source, with when its text was last archived and that text's SHA-256 (not the text).",
        responses={200: SourceDetailSerializer, **_DETAIL_ERRORS},
    ),
)
class SourceViewSet(PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    pagination_class = SourcePagination

    def get_queryset(self) -> SourceQuerySet:
        """One query a page. A single source has its latest capture's time and hash (two subqueries in the
        same query); no response includes the archived text, which is for staff.

        The paginator orders the list: newest publication first, undated sources last.
        """
        queryset = Source.objects.published()
        return queryset.with_archive() if self.action == "retrieve" else queryset

    def get_serializer_class(self) -> type[SourceSerializer]:
        return SourceDetailSerializer if self.action == "retrieve" else SourceSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List statuses",
        description="Every status of both scales (accuracy for facts, tracking for promises and "
        "predictions), each scale from best to worst. Position 1 is the worst; 0 rates nothing.",
        responses={200: StatusSerializer(many=True), **_LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="A status", responses={200: StatusSerializer, **_DETAIL_ERRORS}),
)
class StatusViewSet(PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    serializer_class = StatusSerializer
    lookup_field = "slug"
    # A dozen rows: one unpaged list.
    pagination_class = None

    def get_queryset(self) -> StatusQuerySet:
        """One query."""
        return Status.objects.order_by("scale", "-position", "id")


@extend_schema_view(
    list=extend_schema(
        summary="The feed of status changes and corrections",
        description="Every published status change and every correction, oldest first (`type` says which). "
        "Keep the `last_id` of each page and ask for `?after=<last_id>`: you see each entry once, in order, "
        "with nothing skipped. A changed rating of a fact is a status change followed by its correction.",
        responses={200: FeedEntrySerializer(many=True), **_LIST_ERRORS},
    ),
)
class StatusChangeViewSet(PublicListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    schema = PublicReadSchema()
    serializer_class = FeedEntrySerializer
    pagination_class = ChangeFeedPagination
    # The feed is no one model's queryset: no filter backend reads it.
    filter_backends: list[type] = []

    def get_queryset(self) -> ChangeFeed:  # type: ignore[override]
        """One query a page: status changes and corrections, claim and statuses joined in, in id order."""
        return ChangeFeed()


class ClaimIdField(forms.CharField):
    """A claim's id: a whole number from 1 to PostgreSQL's largest bigint (claims.pagination.whole_number),
    never a decimal, an exponent or a number the database cannot compare. Read as given: " 1" is no id, as
    it is no `after` in the changes feed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return whole_number(text, low=1)
        except ValueError:
            raise DjangoValidationError(
                f"Must be a claim's id: a whole number from 1 to {MAX_BIGINT}."
            ) from None


class ClaimIdFilter(django_filters.Filter):
    field_class = ClaimIdField


class CorrectionFilterSet(django_filters.FilterSet):
    claim = ClaimIdFilter(
        field_name="claim", label="Claim", help_text="Only this claim's corrections (its id)."
    )

    class Meta:
        model = Correction
        fields = ["claim"]


@extend_schema_view(
    list=extend_schema(
        summary="List corrections",
        description="Corrections of published claims, newest first: what changed and why. Paged by cursor.",
        responses={200: CorrectionSerializer(many=True), **_LIST_ERRORS},
    ),
)
class CorrectionViewSet(PublicListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    schema = PublicReadSchema()
    serializer_class = CorrectionSerializer
    filterset_class = CorrectionFilterSet
    pagination_class = CorrectionPagination

    def get_queryset(self) -> CorrectionQuerySet:
        """One query a page, claim joined in; with ?claim=, on claims_correction_claim_idx."""
        return Correction.objects.published().for_listing()


# The events feed ---------------------------------------------------------------------------------------


class EventTypesField(forms.MultipleChoiceField):
    """One or several event types, repeated (?type=a&type=b), comma-separated (?type=a,b) or both. An empty
    value is no filter, as elsewhere in the API."""

    default_error_messages = {
        "invalid_choice": "There is no event type “%(value)s”. The types are: "
        + ", ".join(EventType.values)
        + "."
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", EventType.choices)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        return [part for text in super().to_python(value) for part in text.split(",") if part]


class EventTypesFilter(django_filters.Filter):
    field_class = EventTypesField


class EventFilterSet(django_filters.FilterSet):
    """The events feed's filters. Each narrows the feed on its own index: ?claim= on claims_event_claim_idx
    and ?speaker= on claims_event_speaker_idx, in id order (one query more for ?speaker=, to read the slug, as
    on the claim list), ?type= on claims_event_type_idx."""

    claim = ClaimIdFilter(
        field_name="claim",
        label="Claim",
        help_text="Only this claim's events (its id, as in /api/v1/claims/).",
    )
    speaker = SpeakerFilter(
        label="Speaker",
        field_name="speaker",
        queryset=Speaker.objects.published(),
        to_field_name="slug",
        help_text="Only events of this speaker's claims (their slug, as in /api/v1/speakers/, or a former "
        "one): the speaker when the event happened.",
        error_messages={"invalid_choice": "There is no speaker “%(value)s” with published claims."},
    )
    type = EventTypesFilter(label="Type", field_name="type", lookup_expr="in")

    class Meta:
        model = Event
        fields = ["claim", "speaker", "type"]


@extend_schema_view(
    list=extend_schema(
        summary="The feed of every public event",
        description="Every public event, oldest first: a published status change (`claim.status_changed`), "
        "a correction (`claim.corrected`) and a promise or prediction become overdue (`claim.overdue`). "
        "Each is `{id, type, timestamp, data}`: `data` is the event as published, the same body a webhook "
        "delivers, with the claim in brief, its speaker, the statuses before and after, the verdict's "
        "summary, the correction or the due date passed. Keep the `last_id` of each page and ask for "
        "`?after=<last_id>`: events commit in id order, so you see each once, in order, with nothing skipped "
        "(the `next` link keeps your filters). The changes feed (/api/v1/changes/) has the status changes "
        "and corrections only, in its older shape; this feed is the complete one.",
        parameters=[
            OpenApiParameter(
                "type",
                str,
                enum=EventType.values,
                many=True,
                explode=True,
                description="Only events of these types: one or several, repeated (?type=claim.corrected"
                "&type=claim.overdue) or comma-separated (?type=claim.corrected,claim.overdue).",
            )
        ],
        responses={200: EventSerializer(many=True), **_LIST_ERRORS},
    ),
)
class EventViewSet(PublicListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    schema = PublicReadSchema()
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = EventFeedPagination

    def get_queryset(self) -> EventQuerySet:
        """One query a page (EventQuerySet.page), on the index of the filter given; ?speaker= reads the
        speaker first (one query more)."""
        return Event.objects.all()
