"""The read-only REST API. Every list starts from published data and costs one query a page at any size.

Anonymous users may read. Any write is refused: 403 for anonymous users and users without the model
permission, 405 for editors, as there are no write actions (a claim's status changes only through
claims.services, which the admin calls).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from claims.api.filters import ClaimFilter
from claims.api.serializers import (
    ClaimDetailSerializer,
    ClaimSerializer,
    SourceDetailSerializer,
    SourceSerializer,
    SpeakerDetailSerializer,
    SpeakerSerializer,
    StatusChangeSerializer,
    StatusSerializer,
)
from claims.models import (
    Claim,
    ClaimQuerySet,
    Source,
    SourceQuerySet,
    Speaker,
    SpeakerQuerySet,
    Status,
    StatusChange,
    StatusChangeQuerySet,
    StatusQuerySet,
)
from claims.pagination import ClaimCursorPagination

# The largest id PostgreSQL's bigint holds: an `after` above it cannot name a change.
_MAX_ID = 2**63 - 1

_NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="No published item has this id or slug.")
_BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description="A parameter is malformed: the body names it and says why."
)


class PublicReadSchema(AutoSchema):
    """The OpenAPI description of an API operation: tagged by its resource, and open to anonymous readers.

    (drf-spectacular does not know that DjangoModelPermissionsOrAnonReadOnly lets anyone read.)
    """

    def get_tags(self) -> list[str]:
        return [self.path.split("/")[3]]  # /api/v1/<resource>/...

    def get_auth(self) -> list[dict[str, list[str]]]:
        return [*super().get_auth(), {}]


class SpeakerCursorPagination(ClaimCursorPagination):
    """Speakers by name: the same cursor paging (and page_size rules) as the claims."""

    ordering = ("name", "id")


class SourceCursorPagination(ClaimCursorPagination):
    """Sources, the most recently added first (`published_on` may be empty, so it cannot be the cursor)."""

    ordering = ("-id",)


class ChangeFeedPagination(BasePagination):
    """The changes feed's paging: the changes with an id above `after`, oldest first, `page_size` at a time.

    Changes commit in id order (claims.services serialises their inserts), so a consumer that keeps the
    last id it has seen and asks for ?after=<that id> sees every change exactly once.
    One query a page: it fetches page_size + 1 rows to know whether there are more.
    """

    page_size = 100
    max_page_size = 1000

    def paginate_queryset(
        self, queryset: StatusChangeQuerySet, request: Request, view: Any = None
    ) -> list[StatusChange]:
        """One query: LIMIT page_size + 1 on the id index."""
        self.request = request
        self.after = self._whole_number(request, "after", default=0, low=0, high=_MAX_ID)
        size = self._whole_number(request, "page_size", default=self.page_size, low=1, high=None)
        size = min(size, self.max_page_size)
        rows = list(queryset.filter(id__gt=self.after).order_by("id")[: size + 1])
        self.has_more = len(rows) > size
        page = rows[:size]
        self.last_id = page[-1].id if page else self.after
        return page

    def get_paginated_response(self, data: list[dict[str, Any]]) -> Response:
        return Response({"next": self.get_next_link(), "last_id": self.last_id, "results": data})

    def get_next_link(self) -> str | None:
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
                    "description": "The next page (?after=<last_id>) when more changes are waiting; "
                    "null once you have caught up.",
                    "example": "http://127.0.0.1:8000/api/v1/changes/?after=200",
                },
                "last_id": {
                    "type": "integer",
                    "description": "The id of the last change on this page (or the `after` asked for, when "
                    "the page is empty): keep it and ask for ?after=<last_id> next time.",
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
                "description": "Only changes with an id above this one (the last id you have seen). "
                "Default 0: from the first change.",
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Changes per page: default {self.page_size}, at most {self.max_page_size} "
                "(larger values are capped).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def _whole_number(self, request: Request, name: str, *, default: int, low: int, high: int | None) -> int:
        raw = request.query_params.get(name, "")
        if raw == "":
            return default
        value = int(raw) if raw.isascii() and raw.isdigit() else -1
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"from {low} up"
            raise ValidationError({name: [f"Must be a whole number {limit}."]})
        return value


@extend_schema_view(
    list=extend_schema(
        summary="List published claims",
        description="Claims with a published verdict, the latest status change first (by relevance first "
        "when searching with `q`). Paged by cursor: follow `next` and `previous`.",
        responses={200: ClaimSerializer(many=True), 400: _BAD_REQUEST},
    ),
    retrieve=extend_schema(
        summary="A published claim with its verdicts",
        description="The claim, and its published verdicts newest first, each with its evidence.",
        responses={200: ClaimDetailSerializer, 404: _NOT_FOUND},
    ),
)
class ClaimViewSet(viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    filterset_class = ClaimFilter
    pagination_class = ClaimCursorPagination

    def get_queryset(self) -> ClaimQuerySet:
        """A list page is one query (speaker, source and status joined); a claim is two (plus its verdicts).

        The paginator orders the list: latest status change first, or by rank when searching.
        """
        queryset = Claim.objects.published().for_listing().latest_first()
        if self.action == "retrieve":
            queryset = queryset.with_timeline()
        return queryset

    def get_serializer_class(self) -> type[ClaimSerializer]:
        return ClaimDetailSerializer if self.action == "retrieve" else ClaimSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List speakers",
        description="Speakers with at least one published claim, by name.",
        responses={200: SpeakerSerializer(many=True), 400: _BAD_REQUEST},
    ),
    retrieve=extend_schema(summary="A speaker", responses={200: SpeakerDetailSerializer, 404: _NOT_FOUND}),
)
class SpeakerViewSet(viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    lookup_field = "slug"
    pagination_class = SpeakerCursorPagination

    def get_queryset(self) -> SpeakerQuerySet:
        """One query: speakers with a published claim, each with the count of their published claims."""
        return (
            Speaker.objects.published()
            .annotate(claim_count=Count("claims", filter=Q(claims__status__isnull=False)))
            .order_by("name", "id")
        )

    def get_serializer_class(self) -> type[SpeakerSerializer]:
        return SpeakerDetailSerializer if self.action == "retrieve" else SpeakerSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List sources",
        description="Documents where published claims appeared or that published verdicts cite, the "
        "most recently added first.",
        responses={200: SourceSerializer(many=True), 400: _BAD_REQUEST},
    ),
    retrieve=extend_schema(
        summary="A source with its archived text",
        responses={200: SourceDetailSerializer, 404: _NOT_FOUND},
    ),
)
class SourceViewSet(viewsets.ReadOnlyModelViewSet):
    schema = PublicReadSchema()
    pagination_class = SourceCursorPagination

    def get_queryset(self) -> SourceQuerySet:
        """One query a page; the archived text (which can be long) is read only for a single source."""
        queryset = Source.objects.published().order_by("-id")
        if self.action != "retrieve":
            queryset = queryset.defer("archived_text")
        return queryset

    def get_serializer_class(self) -> type[SourceSerializer]:
        return SourceDetailSerializer if self.action == "retrieve" else SourceSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List statuses",
        description="Every status of both scales (accuracy for facts, tracking for promises and "
        "predictions), each scale from best to worst. Position 1 is the worst; 0 rates nothing.",
    ),
    retrieve=extend_schema(summary="A status", responses={200: StatusSerializer, 404: _NOT_FOUND}),
)
class StatusViewSet(viewsets.ReadOnlyModelViewSet):
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
        summary="The feed of status changes",
        description="Every published status change, oldest first. Keep the `last_id` of each page and "
        "ask for `?after=<last_id>`: you see each change once, in order, with nothing skipped.",
        responses={200: StatusChangeSerializer(many=True), 400: _BAD_REQUEST},
    ),
)
class StatusChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    schema = PublicReadSchema()
    serializer_class = StatusChangeSerializer
    pagination_class = ChangeFeedPagination

    def get_queryset(self) -> StatusChangeQuerySet:
        """One query a page: claim and both statuses joined in, in id order."""
        return StatusChange.objects.for_feed()
