"""The read-only REST API. Every list starts from published data and costs one query a page at any size.

Anonymous users may read. Any write is refused: 403 for anonymous users and users without the model
permission, 405 for editors, as there are no write actions (a claim's status changes only through
claims.services, which the admin calls).
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from claims.api.errors import RETRY_AFTER, problem_responses
from claims.api.serializers import (
    ClaimDetailSerializer,
    ClaimSerializer,
    CorrectionSerializer,
    FeedEntrySerializer,
    SourceDetailSerializer,
    SourceSerializer,
    SpeakerDetailSerializer,
    SpeakerSerializer,
    StatusSerializer,
)
from claims.exports import CHUNK_SIZE, FORMATS, ExportFormat, claim_chunks
from claims.filters import ClaimFilterSet
from claims.models import (
    ChangeFeed,
    Claim,
    ClaimQuerySet,
    Correction,
    CorrectionQuerySet,
    OldSpeakerSlug,
    Source,
    SourceQuerySet,
    Speaker,
    SpeakerQuerySet,
    Status,
    StatusQuerySet,
)
from claims.pagination import (
    MAX_BIGINT,
    ChangeFeedPagination,
    ClaimPagination,
    CorrectionPagination,
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
        refuse_unknown_parameters(self, request)
        return super().list(request, *args, **kwargs)  # type: ignore[misc]


def refuse_unknown_parameters(view: Any, request: Request) -> None:
    """A 400 naming each query parameter the view does not read: its filters, its paginator's parameters
    and `format` (DRF's choice of renderer) are read."""
    known = {"format", *getattr(view.pagination_class, "query_params", ())}
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        known.update(filterset_class.base_filters)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        accepted = ", ".join(sorted(known))
        raise ValidationError(
            {name: [f"Unknown parameter. This list reads: {accepted}."] for name in unknown}
        )


@extend_schema_view(
    list=extend_schema(
        summary="List published claims",
        description="Claims with a published verdict, the latest status change first (by relevance first "
        "when searching with `q`). Paged by cursor: follow `next` and `previous`.",
        responses={200: ClaimSerializer(many=True), **_LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A published claim with its verdicts",
        description="The claim, and its published verdicts newest first, each with its evidence.",
        responses={200: ClaimDetailSerializer, **_DETAIL_ERRORS},
    ),
)
class ClaimViewSet(PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    filterset_class = ClaimFilterSet
    pagination_class = ClaimPagination

    def get_queryset(self) -> ClaimQuerySet:
        """A list page is one query (speaker, source and status joined); a claim is two (plus its verdicts),
        its verified quote's paragraph read in the first (a window of the archived text, never all of it).

        The paginator orders the list: latest status change first, or by rank when searching.
        """
        queryset = Claim.objects.published().for_listing()
        if self.action == "retrieve":
            # The corrections and the quote's paragraph come in the claim's own query, as annotations.
            queryset = queryset.with_timeline().with_corrections().with_quote_context()
        return queryset

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


# Exports ---------------------------------------------------------------------------------------------------


class ExportSchema(PublicReadSchema):
    """An export in the OpenAPI document: one document rather than a list (no paging, the 200 body is not
    an array of it), reading the claim list's filters (drf-spectacular documents filters of lists only)."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False

    def get_filter_backends(self) -> list[Any]:
        return list(getattr(self.view, "filter_backends", []))


class ExportRenderer(BaseRenderer):
    """An export's media type for content negotiation: an Accept header that does not allow it is a 406.

    The export writes its own body (claims.exports) and errors are problem documents (claims.api.errors),
    so nothing is rendered here; should anything be, it is written as JSON.
    """

    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def export_renderer(export: ExportFormat, format_name: str) -> type[ExportRenderer]:
    return type(
        f"{export.name.title()}Renderer",
        (ExportRenderer,),
        {"media_type": export.media_type.split(";")[0], "format": format_name},
    )


_EXPORT_DESCRIPTION = (
    "Every published claim in one download, streamed in id order (the order claims were added), "
    "{chunk:,} rows a database query: the response starts at once and the server holds a chunk or two at "
    "a time, whatever the size. Reads the claim list's filters, with the same 400 for a bad value; `q` "
    "narrows the export but does not reorder it. A download cut short ends without HTTP's final chunk. "
    "Each claim appears at most once, as it stood when its chunk was read. HEAD answers the headers only."
)
_RECORD_DESCRIPTION = (
    "The fields of the claim list (`/api/v1/claims/`), and `verdict_summary`: the one-line summary of the "
    "verdict that gave the claim its status."
)


class ClaimExportView(GenericAPIView):
    """Streams the published claims that the filters select in one export format (claims.exports).

    Queries: the filters' own (a ?speaker=, the statuses for ?status=), then one a chunk of CHUNK_SIZE
    claims, speaker, source, status and the latest verdict's summary joined in; none for HEAD.
    """

    schema = ExportSchema()
    filterset_class = ClaimFilterSet
    pagination_class = None
    export: ExportFormat
    # GET and HEAD only: DRF would answer OPTIONS with its metadata through the export's renderer, labelled
    # as CSV or JSON Lines. Any other method is refused (403 for anonymous users, 405 otherwise).
    http_method_names = ["get", "head"]
    # A file to save (Content-Disposition: attachment), or a feed read in place.
    download = True

    def get_queryset(self) -> ClaimQuerySet:
        return self.export.claims(Claim.objects.published())

    def get(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        refuse_unknown_parameters(self, request)
        claims = self.filter_queryset(self.get_queryset())  # a bad filter value raises the 400 here
        chunks = iter(()) if request.method == "HEAD" else claim_chunks(claims)
        body = self.export.stream(chunks, request=request, feed_url=request.build_absolute_uri())
        response = StreamingHttpResponse(body, content_type=self.export.media_type)
        if self.download:
            response["Content-Disposition"] = f'attachment; filename="{self.export.filename()}"'
        return response


@extend_schema_view(
    get=extend_schema(
        operation_id="exports_claims_csv",
        summary="All published claims as CSV",
        description=_EXPORT_DESCRIPTION.format(chunk=CHUNK_SIZE)
        + "\n\n"
        + _RECORD_DESCRIPTION
        + " One row per claim after a header row; a nested object's fields are columns `<object>_<field>` "
        "(`speaker_slug`, `source_url`, `status_label`...), `status` is the status's slug. UTF-8, RFC 4180 "
        "(every cell quoted, CRLF line ends; a line break inside a claim's text stays inside its quotes). A "
        "cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a `'` first, so "
        "that a spreadsheet shows it as text and never runs it as a formula (OWASP's advice on CSV injection): "
        "the JSON Lines export has the text exactly.",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The claims, as an attachment named claims-<date>.csv.",
                examples=[
                    OpenApiExample(
                        "CSV",
                        value='"id","slug","url","html_url","text",...\r\n"1","first-talks",...\r\n',
                        media_type="text/csv",
                    )
                ],
            ),
            **_LIST_ERRORS,
        },
    )
)
class ClaimCsvExportView(ClaimExportView):
    export = FORMATS["csv"]
    renderer_classes = [export_renderer(FORMATS["csv"], "csv")]


@extend_schema_view(
    get=extend_schema(
        operation_id="exports_claims_jsonl",
        summary="All published claims as JSON Lines",
        description=_EXPORT_DESCRIPTION.format(chunk=CHUNK_SIZE)
        + "\n\n"
        + _RECORD_DESCRIPTION
        + " One JSON object per line (the claim list's `Claim` shape, nested objects and all, plus "
        "`verdict_summary`), UTF-8, each line ended by a line feed. Served as `application/x-ndjson`, the "
        "media type most tools that read line-delimited JSON send and accept.",
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The claims, one JSON object a line, as an attachment named claims-<date>.jsonl.",
                examples=[
                    OpenApiExample(
                        "JSON Lines",
                        value='{"id":1,"slug":"first-talks",...,"verdict_summary":"Checked."}\n'
                        '{"id":2,"slug":"ceasefire",...}\n',
                        media_type="application/x-ndjson",
                    )
                ],
            ),
            **_LIST_ERRORS,
        },
    )
)
class ClaimJsonLinesExportView(ClaimExportView):
    export = FORMATS["jsonl"]
    renderer_classes = [export_renderer(FORMATS["jsonl"], "jsonl")]


@extend_schema_view(
    get=extend_schema(
        operation_id="exports_claimreview",
        summary="The ClaimReview feed for aggregators",
        description=_EXPORT_DESCRIPTION.format(chunk=CHUNK_SIZE)
        + "\n\nA schema.org `DataFeed` (JSON-LD), the shape of the ClaimReview feed Google's Fact Check "
        "Markup Tool publishes through Data Commons: `dataFeedElement` holds a `DataFeedItem` per claim, whose "
        "`item` is the claim page's own ClaimReview (the JSON-LD its page carries) and `dateModified` the "
        "claim's last change. One JSON document, complete only at its end.",
        responses={
            (200, "application/ld+json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The DataFeed.",
                examples=[
                    OpenApiExample(
                        "DataFeed",
                        value={
                            "@context": "https://schema.org",
                            "@type": "DataFeed",
                            "name": "factcheck: fact checks",
                            "url": "https://factcheck.example/api/v1/exports/claimreview.json",
                            "dateModified": "2026-11-26T03:00:00Z",
                            "dataFeedElement": [
                                {
                                    "@type": "DataFeedItem",
                                    "url": "https://factcheck.example/claims/first-talks/",
                                    "dateModified": "2026-11-25T10:00:00Z",
                                    "item": [{"@context": "https://schema.org", "@type": "ClaimReview"}],
                                }
                            ],
                        },
                        media_type="application/ld+json",
                    )
                ],
            ),
            **_LIST_ERRORS,
        },
    )
)
class ClaimReviewFeedView(ClaimExportView):
    export = FORMATS["claimreview"]
    renderer_classes = [export_renderer(FORMATS["claimreview"], "jsonld")]
    download = False
