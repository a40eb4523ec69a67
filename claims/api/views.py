"""The REST API. Every list starts from published data and costs one query a page at any size.

Anyone may read. Writing takes an API key (claims.api.keys): POST a speaker, a source, a claim, or a verdict
on a claim, publish a draft verdict, or PATCH a claim, each checked by the admin's own rules (its forms, claims.services' checks) and written by the
services the admin calls, in one transaction, recorded in the audit history as the key's user's. Without a
key a write is a 401 (403 when signed in to the site: a session reads only); any other method is refused
(403 without the model permission, 405 otherwise): nothing else is edited, nor anything deleted.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.forms.models import modelform_factory
from django.http import Http404, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from claims.api.errors import (
    RETRY_AFTER,
    WWW_AUTHENTICATE,
    problem_responses,
    refusals_as_400,
    validation_error,
)
from claims.api.keys import KEYWORD, KeyScope, acting_with_key, request_key
from claims.api.serializers import (
    ClaimDetailSerializer,
    ClaimEditSerializer,
    ClaimJson,
    ClaimSerializer,
    ClaimWriteSerializer,
    CorrectionSerializer,
    EventSerializer,
    FeedEntrySerializer,
    SourceDetailSerializer,
    SourceSerializer,
    SourceWriteSerializer,
    SpeakerDetailSerializer,
    SpeakerSerializer,
    SpeakerWriteSerializer,
    StatusSerializer,
    VerdictSerializer,
    VerdictWriteSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from claims.exports import CHUNK_SIZE, FORMATS, ExportFormat, claim_chunks
from claims.filters import AsOfField, ClaimFilterSet, SpeakerFilter
from claims.forms import ClaimForm, SpeakerForm, VersionedForm
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
    Scope,
    Source,
    SourceQuerySet,
    Speaker,
    SpeakerQuerySet,
    Status,
    StatusQuerySet,
    Verdict,
    WebhookEndpoint,
    WebhookEndpointQuerySet,
    end_of_day,
    slug_for,
)
from claims.pagination import (
    MAX_BIGINT,
    ChangeFeedPagination,
    ClaimPagination,
    CorrectionPagination,
    EventFeedPagination,
    SourcePagination,
    SpeakerPagination,
    WebhookEndpointPagination,
    whole_number,
)
from claims.prepared import PreparedQuery
from claims.services import (
    EvidenceItem,
    archive_source_text,
    lock_for_edit,
    publication_permission_errors,
    publish_verdict,
    rating_correction_errors,
    record_verdict,
    save_claim,
    stale_messages,
    verdict_errors,
)
from claims.webhooks import delete_endpoint, rotate_secret, save_endpoint

# The errors every operation can answer (a problem document each, claims.api.errors): a list refuses a
# malformed or unknown parameter, a single item may not be published; any of them may be asked for a
# format we do not serve, be throttled, or find the database out of reach.
_LIST_ERRORS = problem_responses(400, 406, 429, 503)
_DETAIL_ERRORS = problem_responses(404, 406, 429, 503)
# A write may also be refused its credentials (401), its scope or permission (403), or a body not JSON (415).
_WRITE_ERRORS = problem_responses(400, 401, 403, 406, 415, 429, 503)
# The created object's address in the API (a claim's answers once the claim is published).
LOCATION = OpenApiParameter(
    "Location",
    {"type": "string", "format": "uri"},
    location=OpenApiParameter.HEADER,
    required=True,
    description="The created object's address in the API. A claim's answers once the claim is published.",
    response=[201],
)


class ApiSchema(AutoSchema):
    """The OpenAPI description of an API operation: tagged by its resource; a read is public, a write takes
    an API key.

    A read is made by anyone without signing in, and a signed-in user reads the same published data, so no
    read lists a security requirement (drf-spectacular would list the session cookie: it does not know that
    DjangoModelPermissionsOrAnonReadOnly lets anyone read). A write lists the ApiKey scheme alone (a session
    cannot write: claims.api.keys), and its 401 carries WWW-Authenticate. A throttled 429 and an outage's
    503 carry the Retry-After header.
    """

    def get_tags(self) -> list[str]:
        return [self.path.split("/")[3]]  # /api/v1/<resource>/...

    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def takes_key(self) -> bool:
        """Whether the operation takes an API key: the writes (KeyOnlySchema: reads too)."""
        return self.is_write()

    def get_auth(self) -> list[dict[str, list[str]]]:
        if not self.takes_key():
            return []
        return [scheme for scheme in super().get_auth() if "ApiKey" in scheme]

    def get_override_parameters(self) -> list[OpenApiParameter]:
        extra = [WWW_AUTHENTICATE] if self.takes_key() else []
        return [*super().get_override_parameters(), RETRY_AFTER, *extra]


class KeyOnlySchema(ApiSchema):
    """An API of a key's own objects (its webhook endpoints), not public data: every operation, reads too,
    takes the key, and lists the ApiKey scheme and the 401's WWW-Authenticate."""

    def takes_key(self) -> bool:
        return True


class PublicListMixin:
    """A list refuses query parameters it does not read (a 400 naming each), so a misspelt filter is not
    silently ignored: it reads its filters, its paginator's parameters (cursor and page_size, or after) and
    `format`.
    """

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_unknown_parameters(self, request)
        return super().list(request, *args, **kwargs)  # type: ignore[misc]


def _url_field(field: models.Field, **kwargs: Any) -> Any:
    """A model field's form field as the admin makes it (claims.admin.URL_FIELDS: a URL without a scheme
    is https)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


# The admin's forms, as the admin builds them, with the fields a client sends.
SpeakerWriteForm = modelform_factory(
    Speaker,
    form=SpeakerForm,
    fields=["name", "slug", "role", "description", "url"],
    formfield_callback=_url_field,
)
SourceWriteForm = modelform_factory(
    Source,
    form=VersionedForm,
    fields=["title", "publisher", "authors", "url", "published_on"],
    formfield_callback=_url_field,
)


def _form_values(claim: Claim) -> dict[str, Any]:
    """The claim's current values as the claim form reads them (related objects by id)."""
    return {
        name: Claim._meta.get_field(name).value_from_object(claim)
        for name in ClaimForm._meta.fields
        if name != "due_on" or claim.due_on is not None
    }


class Conflict(APIException):
    """409: the object was edited since the version the client sent."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Edited since the version you sent."
    default_code = "conflict"


class KeyWritesMixin:
    """A viewset whose writes (`write_permissions`: action → KeyScope) take an API key; its reads keep the
    default permission (anyone reads). A write's body is JSON.

    Each write runs in claims.api.keys.acting_with_key: one transaction, recorded in the audit history as the
    key's user's; a refusal inside it (a form's errors, claims.api.errors.validation_error; a service's
    ValidationError, refusals_as_400) rolls it all back and is a 400 naming the fields.
    """

    write_permissions: dict[str, KeyScope] = {}
    parser_classes = [JSONParser]

    def get_permissions(self) -> list[Any]:
        scope = self.write_permissions.get(self.action)  # type: ignore[attr-defined]
        return [scope] if scope is not None else super().get_permissions()  # type: ignore[misc]

    def body(self, serializer_class: type, request: Request) -> dict[str, Any]:
        """The request body, its types checked (a 400 naming each wrong field). Runs no query, unless the
        serializer looks an object up."""
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def created(self, data: Any, location: str) -> Response:
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


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
    create=extend_schema(
        summary="Create a claim (API key: write_claims)",
        description="A new claim, unrated, through the admin's claim form and claims.services.save_claim: "
        "a verbatim quote must be found in the source's archived text, the same speaker's quote from the "
        "same source is refused as a duplicate, a claim much like another needs `different_claim`. The "
        "answer is the claim as the API shows it; it is public once a verdict on it is published.",
        request=ClaimWriteSerializer,
        responses={201: ClaimDetailSerializer, **_WRITE_ERRORS},
        parameters=[LOCATION],
    ),
    partial_update=extend_schema(
        summary="Edit a claim (API key: write_claims, and the user's change_claim)",
        description="The fields sent, and `expected_version`, the claim's `version` as you read it: an edit "
        "made since is never overwritten (409). Checked by the admin's claim form and saved by "
        "claims.services.save_claim, as the admin saves an edit: only the fields that change are written; a "
        "published claim's text, quote, speaker, source, date said or kind changes only with a "
        "`correction_note`, published as a correction (and in the changes feed). The claim need not be "
        "published yet.",
        request=ClaimEditSerializer,
        responses={200: ClaimDetailSerializer, **_WRITE_ERRORS, **problem_responses(404, 409)},
    ),
)
class ClaimViewSet(KeyWritesMixin, PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = ApiSchema()
    filterset_class = ClaimFilterSet
    pagination_class = ClaimPagination
    write_permissions = {
        "create": KeyScope(Scope.WRITE_CLAIMS),
        "partial_update": KeyScope(Scope.WRITE_CLAIMS, "claims.change_claim"),
        "verdicts": KeyScope(Scope.RECORD_VERDICTS),
        "publish": KeyScope(Scope.PUBLISH_VERDICTS),
    }

    # The reads' query shapes, built once per process and cloned per request (as DRF clones a view's
    # `queryset`): building the detail's annotations (the corrections' JSON subquery, the quote's window),
    # the timeline's evidence subquery and the rows' 29 columns costs about a millisecond a request, more
    # than running the queries. With a filter (a search, as of a past day), they are built for the request.
    queryset = Claim.objects.published()
    detail_queryset = Claim.objects.published().with_corrections().with_quote_context()
    list_rows = queryset.as_rows()
    detail_rows = detail_queryset.as_rows()
    timeline = Verdict.objects.timeline_rows()

    def get_queryset(self) -> ClaimQuerySet:
        """The published claims, with what a claim's detail shows besides a list's: its corrections and its
        verified quote's paragraph, as annotations of the claim's own query (a window of the archived text,
        never all of it). Building it runs no query: DRF's permission check calls it too.

        The reads take it as plain rows (ClaimQuerySet.as_rows, after the filters): a list page is one query
        (speaker, source and status joined), a claim two (its verdicts: VerdictQuerySet.timeline_rows), and
        ClaimJson writes their JSON. The paginator orders the list: latest status change first, or by rank
        when searching. ?as_of= is a filter (ClaimFilterSet, for the list and a claim alike); a claim's
        corrections and timeline then stop at that day.
        """
        if self.action != "retrieve":
            return self.queryset.all()
        day = self.as_of()
        if day is None:
            return self.detail_queryset.all()
        return self.queryset.with_corrections(before=end_of_day(day)).with_quote_context()

    def claim_rows(self) -> ClaimQuerySet:
        """The claims this read shows, as plain rows (ClaimQuerySet.as_rows). With no filter asked (most
        reads), a clone of the shape built once; else ClaimFilterSet applied to get_queryset(), then the rows.
        Runs no query."""
        if self.request.query_params.keys() & ClaimFilterSet.base_filters.keys():
            return self.filter_queryset(self.get_queryset()).as_rows()
        return (self.detail_rows if self.action == "retrieve" else self.list_rows).all()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One query a page (LIMIT page_size + 1), read as rows and written by ClaimJson."""
        refuse_unknown_parameters(self, request)
        if self.request.query_params.keys() & ClaimFilterSet.base_filters.keys():
            page = self.paginate_queryset(self.claim_rows())
        else:
            # No filter asked: the page of a shape built once, compiled once per page size and prepared.
            page = self.paginator.paginate_queryset(self.list_rows, request, self, fixed_shape=True)
        write = self.claim_json()
        return self.get_paginated_response([write.claim(row) for row in page])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Two queries: the claim's row (its corrections and quote window in it), then its timeline; a 404
        after the first when no published claim (as of the day asked) has the id.

        With no filter asked (nearly every read of a claim), both are statements compiled once per process
        and prepared on the connection (CLAIM_DETAIL, CLAIM_TIMELINE: claims.prepared), as the claim page's
        are; with one (as of a past day, or a list's filter), the querysets are built for the request."""
        if self.request.query_params.keys() & ClaimFilterSet.base_filters.keys():
            claim = get_object_or_404(self.claim_rows(), pk=self.kwargs["pk"])
            day = self.as_of()
            timeline = self.timeline if day is None else Verdict.objects.timeline_rows(before=end_of_day(day))
            verdicts = list(timeline.filter(claim_id=claim["id"]))
        else:
            try:
                claim_id = whole_number(self.kwargs["pk"], low=1)
            except ValueError:
                raise Http404 from None
            claims = CLAIM_DETAIL.run(claim_id=claim_id)
            if not claims:
                raise Http404
            claim = claims[0]
            verdicts = CLAIM_TIMELINE.run(claim_id=claim_id)
        self.check_object_permissions(request, claim)
        return Response(self.claim_json().detail(claim, verdicts))

    def claim_json(self) -> ClaimJson:
        """The claims' JSON for this request (its host and format; overdue reckoned from the context's
        `today`)."""
        return ClaimJson(self.request, today=self.get_serializer_context()["today"], format=self.format_kwarg)

    def as_of(self) -> date | None:
        """?as_of=, read as the filters read it; a 400 naming it when it is no day we can answer for."""
        if "as_of" not in self.request.query_params:
            return None  # nearly every read: no form field to make
        try:
            return AsOfField(required=False).clean(self.request.query_params.get("as_of"))
        except DjangoValidationError as error:
            raise ValidationError({"as_of": error.messages}) from None

    def get_serializer_context(self) -> dict[str, Any]:
        """`today`, the day `overdue` is reckoned from: ?as_of= when given to a read, else today in the site's
        zone. A write's answer is the claim as it now stands: ?as_of= is not read (a bad one would refuse
        an answer to a write already committed)."""
        as_of = self.as_of() if self.request.method in ("GET", "HEAD") else None
        return {**super().get_serializer_context(), "today": as_of or timezone.localdate()}

    def get_serializer_class(self) -> type[ClaimSerializer]:
        return ClaimDetailSerializer if self.action == "retrieve" else ClaimSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The admin's claim form checks the claim (slug from the text, duplicates, similar claims, the
        quote against the source's archived text, the dates and kind), save_claim checks again and writes
        it; then it is read back as the claim's detail. A fixed number of queries (pinned in the tests).
        """
        data = self.body(ClaimWriteSerializer, request)
        with acting_with_key(request):
            form = ClaimForm(data={name: value for name, value in data.items() if value is not None})
            if not form.is_valid():
                raise validation_error(form.errors)
            claim = form.save(commit=False)
            with refusals_as_400():
                save_claim(claim=claim, by=request.user)
        created = (
            Claim.objects.for_listing()
            .with_timeline()
            .with_corrections()
            .with_quote_context()
            .get(pk=claim.pk)
        )
        url = reverse("api:claim-detail", kwargs={"pk": claim.pk})
        return self.created(
            ClaimDetailSerializer(created, context=self.get_serializer_context()).data,
            request.build_absolute_uri(url),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The claim locked, its version compared (409 when edited since), the admin's claim form over its
        current values with the fields sent, then save_claim with the fields that changed. A fixed number of
        queries."""
        claim_id = self._claim_id(kwargs.get("pk"))
        data = self.body(ClaimEditSerializer, request)
        expected_version = data.pop("expected_version")
        note = data.pop("correction_note", None)
        with acting_with_key(request):
            try:
                current = lock_for_edit(Claim, claim_id)
            except Claim.DoesNotExist:
                raise Http404 from None
            if current.version != expected_version:
                raise Conflict(" ".join(stale_messages(current=current, expected_version=expected_version)))
            if note is not None and not current.is_published:
                raise ValidationError(
                    {"correction_note": ["This claim is not published: an edit corrects nothing public."]}
                )
            form = ClaimForm(
                instance=current, data={**_form_values(current), **data, "correction_note": note or ""}
            )
            for field in form.fields.values():
                # Changed means changed from the claim as locked (not from a page's hidden initial values).
                field.show_hidden_initial = False
            if not form.is_valid():
                raise validation_error(form.errors)
            claim = form.save(commit=False)
            with refusals_as_400():
                save_claim(
                    claim=claim,
                    expected_version=expected_version,
                    fields=form.edited_fields,
                    correction_note=note or "",
                    by=request.user,
                )
        edited = (
            Claim.objects.for_listing()
            .with_timeline()
            .with_corrections()
            .with_quote_context()
            .get(pk=claim_id)
        )
        return Response(ClaimDetailSerializer(edited, context=self.get_serializer_context()).data)

    def _claim_id(self, pk: str | None) -> int:
        """A claim's id from the URL, or a 404 (read as the changes feed reads ids: digits only)."""
        try:
            return whole_number(pk or "", low=1)
        except ValueError:
            raise Http404 from None

    @extend_schema(
        summary="Record a verdict on a claim (API key: record_verdicts)",
        description="A dated verdict with its evidence, through claims.services.record_verdict, as the admin "
        "records one: a draft, which changes nothing public until a reviewer publishes it. With `published`, "
        "it is published at once (the publish_verdicts scope, and the user's publish_verdict permission; with "
        "review required, never by its own author: a 403). A published verdict becomes the claim's status, "
        "with its entry in the changes feed. The claim need not be published yet.",
        request=VerdictWriteSerializer,
        responses={201: VerdictSerializer, **_WRITE_ERRORS, **problem_responses(404)},
        parameters=[LOCATION],
    )
    @action(detail=True, methods=["post"], url_path="verdicts")
    def verdicts(self, request: Request, pk: str | None = None) -> Response:
        """The claim by id (any claim, published or not), the verdict's checks as the admin's new-verdict
        row makes them (verdict_errors, rating_correction_errors), then record_verdict. A fixed number of
        queries whatever the number of evidence items (the sources read in one query)."""
        claim_id = self._claim_id(pk)
        claim = Claim.objects.defer("search").select_related("status").filter(pk=claim_id).first()
        if claim is None:
            raise Http404
        data = self.body(VerdictWriteSerializer, request)
        if data["published"]:
            self._check_may_publish(request)
        evidence = self._evidence(data["evidence"])
        errors = verdict_errors(
            claim=claim,
            status=data["status"],
            summary=data["summary"],
            evidence=evidence,
            publish=data["published"],
        )
        errors.update(
            rating_correction_errors(
                claim=claim, status=data["status"], correction_note=data["correction_note"]
            )
        )
        if errors:
            raise validation_error(errors)
        with acting_with_key(request), refusals_as_400():
            verdict = record_verdict(
                claim=claim,
                status=data["status"],
                summary=data["summary"],
                explanation=data["explanation"],
                evidence=evidence,
                publish=data["published"],
                by=request.user,
                correction_note=data["correction_note"],
            )
        created = Verdict.objects.with_evidence().get(pk=verdict.pk)
        url = reverse("api:claim-detail", kwargs={"pk": claim.pk})
        return self.created(VerdictSerializer(created).data, request.build_absolute_uri(url))

    @extend_schema(
        summary="Publish a draft verdict (API key: publish_verdicts)",
        description="Publishes a draft recorded on this claim (by the admin or a key) through "
        "claims.services.publish_verdict: it becomes the claim's status, with its entry in the changes feed "
        "(and a correction for a fact's changed rating, with the draft's reason). Takes the user's "
        "publish_verdict permission and, with review required (the default), a user other than the draft's "
        "author (403). A 400 when the draft cannot be published now (already published, or a newer verdict "
        "on the claim).",
        request=None,
        responses={200: VerdictSerializer, **_WRITE_ERRORS, **problem_responses(404)},
    )
    @action(detail=True, methods=["post"], url_path=r"verdicts/(?P<verdict_id>[0-9]+)/publish")
    def publish(self, request: Request, pk: str | None = None, verdict_id: str | None = None) -> Response:
        """The draft by claim and id, the review rule checked (a 403 naming it), then publish_verdict. A
        fixed number of queries."""
        claim_id, draft_id = self._claim_id(pk), self._claim_id(verdict_id)
        draft = Verdict.objects.filter(pk=draft_id, claim_id=claim_id).only("pk", "created_by_id").first()
        if draft is None:
            raise Http404
        refused = publication_permission_errors(author_id=draft.created_by_id, by=request.user)
        if refused:
            raise PermissionDenied(" ".join(refused))
        with acting_with_key(request), refusals_as_400():
            publish_verdict(verdict=draft, by=request.user)
        published = Verdict.objects.with_evidence().get(pk=draft.pk)
        return Response(VerdictSerializer(published).data)

    def _check_may_publish(self, request: Request) -> None:
        """A 403 unless the key has the publish_verdicts scope and its user may publish their own verdict
        (claims.services.publication_permission_errors: with review required, nobody may)."""
        KeyScope(Scope.PUBLISH_VERDICTS).has_permission(request, self)  # raises PermissionDenied
        refused = publication_permission_errors(author_id=request.user.pk, by=request.user)
        if refused:
            raise PermissionDenied(" ".join(refused))

    def _evidence(self, items: list[dict[str, Any]]) -> list[EvidenceItem]:
        """The cited sources, read in one query; an unknown id is a 400 on `evidence`."""
        sources = Source.objects.in_bulk([item["source"] for item in items])
        missing = sorted({item["source"] for item in items} - set(sources))
        if missing:
            raise ValidationError(
                {"evidence": [f"No source has the id {', '.join(str(pk) for pk in missing)}."]}
            )
        return [EvidenceItem(source=sources[item["source"]], note=item["note"]) for item in items]


# A claim's detail as it stands now, its two queries compiled once per process and prepared (claims.prepared):
# the claim's row by its id, and its published timeline.
CLAIM_DETAIL = PreparedQuery(lambda claim_id: ClaimViewSet.detail_rows.filter(pk=claim_id), claim_id=int)
CLAIM_TIMELINE = PreparedQuery(lambda claim_id: ClaimViewSet.timeline.filter(claim_id=claim_id), claim_id=int)


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
    create=extend_schema(
        summary="Create a speaker (API key: write_speakers)",
        description="Checked by the admin's speaker form (a slug taken, or another speaker's old address, is "
        "refused). The answer is the speaker as the API shows them, once they have a published claim.",
        request=SpeakerWriteSerializer,
        responses={201: SpeakerDetailSerializer, **_WRITE_ERRORS},
        parameters=[LOCATION],
    ),
)
class SpeakerViewSet(KeyWritesMixin, PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = ApiSchema()
    lookup_field = "slug"
    pagination_class = SpeakerPagination
    write_permissions = {"create": KeyScope(Scope.WRITE_SPEAKERS)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The admin's speaker form, then saved as the admin saves a new speaker; read back with its claim
        count. A fixed number of queries."""
        data = self.body(SpeakerWriteSerializer, request)
        if not data.get("slug"):
            data["slug"] = slug_for(data["name"], Speaker._meta.get_field("slug").max_length)
        with acting_with_key(request):
            form = SpeakerWriteForm(data=data)
            if not form.is_valid():
                raise validation_error(form.errors)
            speaker = form.save()
        created = Speaker.objects.with_claim_counts().get(pk=speaker.pk)
        url = reverse("api:speaker-detail", kwargs={"slug": speaker.slug})
        return self.created(
            SpeakerDetailSerializer(created, context=self.get_serializer_context()).data,
            request.build_absolute_uri(url),
        )

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
    create=extend_schema(
        summary="Create a source (API key: write_sources)",
        description="Checked by the admin's source form (a URL already a source's is refused); with "
        "`archived_text`, its text is archived as its first capture (claims.services.archive_source_text), "
        "so verbatim quotes can be checked against it. The answer gives the capture's time and SHA-256, "
        "never the text.",
        request=SourceWriteSerializer,
        responses={201: SourceDetailSerializer, **_WRITE_ERRORS},
        parameters=[LOCATION],
    ),
)
class SourceViewSet(KeyWritesMixin, PublicListMixin, viewsets.ReadOnlyModelViewSet):
    schema = ApiSchema()
    pagination_class = SourcePagination
    write_permissions = {"create": KeyScope(Scope.WRITE_SOURCES)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The admin's source form, then saved as the admin saves a new source, and its text archived as
        the admin's new-capture row does; read back with the capture's time and hash. A fixed number of
        queries."""
        data = self.body(SourceWriteSerializer, request)
        text, captured_at = data.pop("archived_text"), data.pop("archived_at")
        if text and not request.user.has_perm("claims.add_sourcesnapshot"):
            raise PermissionDenied(
                f"The key's user, {request.user.get_username()}, does not have the permission "
                "claims.add_sourcesnapshot: send the source without archived_text."
            )
        with acting_with_key(request):
            form = SourceWriteForm(data={name: value for name, value in data.items() if value is not None})
            if not form.is_valid():
                raise validation_error(form.errors)
            source = form.save()
            if text or captured_at is not None:
                with refusals_as_400(renamed={"text": "archived_text", "captured_at": "archived_at"}):
                    archive_source_text(source=source, text=text, captured_at=captured_at, by=request.user)
        created = Source.objects.with_archive().get(pk=source.pk)
        url = reverse("api:source-detail", kwargs={"pk": source.pk})
        return self.created(
            SourceDetailSerializer(created, context=self.get_serializer_context()).data,
            request.build_absolute_uri(url),
        )

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
    schema = ApiSchema()
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
    schema = ApiSchema()
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
    schema = ApiSchema()
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
    schema = ApiSchema()
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = EventFeedPagination

    def get_queryset(self) -> EventQuerySet:
        """One query a page (EventQuerySet.page), on the index of the filter given; ?speaker= reads the
        speaker first (one query more)."""
        return Event.objects.all()


# Webhook endpoints -------------------------------------------------------------------------------------------

NEEDS_A_WEBHOOK_KEY = (
    "Webhook endpoints are managed with an API key that has the manage_webhooks scope (Authorization: "
    f"{KEYWORD} <key>), reads included: each key sees the endpoints it registered. Signing in to the site "
    "does not show them."
)


def _manage_webhooks(*perms: str) -> KeyScope:
    return KeyScope(Scope.MANAGE_WEBHOOKS, *perms, message=NEEDS_A_WEBHOOK_KEY)


# A key's endpoint: its reads' and writes' refusals besides a 400 (a body's, a list's parameters).
_KEY_DETAIL_ERRORS = problem_responses(401, 403, 404, 406, 429, 503)
_SHOWN_ONCE = (
    " The answer holds the signing `secret`, `whsec_…`, this once: no list or read shows it again "
    "(`Cache-Control: no-store`)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List your webhook endpoints (API key: manage_webhooks)",
        description="The endpoints this API key registered, oldest first (another key's, and those made in "
        "the admin, are not listed), without their secrets. Paged by cursor. Takes the user's "
        "view_webhookendpoint permission.",
        responses={
            200: WebhookEndpointSerializer(many=True),
            **problem_responses(400, 401, 403, 406, 429, 503),
        },
    ),
    retrieve=extend_schema(
        summary="One of your webhook endpoints (API key: manage_webhooks)",
        description="An endpoint this key registered, without its secret; any other id is a 404. "
        "`disabled_reason` says why factcheck disabled it (a 410 Gone, or days of failed deliveries).",
        responses={200: WebhookEndpointSerializer, **_KEY_DETAIL_ERRORS},
    ),
    create=extend_schema(
        summary="Register a webhook endpoint (API key: manage_webhooks)",
        description="A URL to POST the public events to, signed as Standard Webhooks 1.0, filtered by "
        "speaker, claim and event types (each left out: all). The URL is checked as the admin checks it: "
        "`https://` on a public address (a literal private, loopback or link-local address, or a local host "
        "name, is refused; every attempt resolves the name and checks each address again). The endpoint "
        "is this key's: only this key sees and manages it through the API, and it is sent events only while "
        "the key is in force (a revoked or expired key's endpoints are sent nothing). Takes the user's "
        "add_webhookendpoint permission." + _SHOWN_ONCE,
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **_WRITE_ERRORS},
        parameters=[LOCATION],
    ),
    partial_update=extend_schema(
        summary="Edit one of your webhook endpoints (API key: manage_webhooks)",
        description="The fields sent: `url` (checked as at registration), `description`, `speaker`, "
        "`claim`, `event_types`, `is_active`. Setting `is_active` to true on an endpoint factcheck disabled "
        "re-enables it and clears `disabled_reason`, as ticking *active* in the admin does. Any other field "
        "is refused (400). Takes the user's change_webhookendpoint permission.",
        request=WebhookEndpointSerializer,
        responses={200: WebhookEndpointSerializer, **_WRITE_ERRORS, **problem_responses(404)},
    ),
    destroy=extend_schema(
        summary="Delete one of your webhook endpoints (API key: manage_webhooks)",
        description="The endpoint and its delivery log; deliveries not yet sent are not sent. Takes the "
        "user's delete_webhookendpoint permission.",
        responses={204: None, **_KEY_DETAIL_ERRORS},
    ),
)
class WebhookEndpointViewSet(
    KeyWritesMixin,
    PublicListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A key holder's webhook endpoints (claims.webhooks delivers to them): each key sees and manages only
    the endpoints it registered, with the manage_webhooks scope and the user's webhook endpoint permission
    for what it does (reads too: the endpoints are the key's own, not public). Every write is one
    transaction, recorded in the audit history as the key's user's; the URL is the admin's check
    (validate_endpoint_url), an edit the admin's save (save_endpoint), a rotation the admin's
    (rotate_secret)."""

    schema = KeyOnlySchema()
    serializer_class = WebhookEndpointSerializer
    pagination_class = WebhookEndpointPagination
    filter_backends: list[type] = []
    write_permissions = {
        "list": _manage_webhooks("claims.view_webhookendpoint"),
        "retrieve": _manage_webhooks("claims.view_webhookendpoint"),
        "create": _manage_webhooks("claims.add_webhookendpoint"),
        "partial_update": _manage_webhooks("claims.change_webhookendpoint"),
        "rotate": _manage_webhooks("claims.change_webhookendpoint"),
        "destroy": _manage_webhooks("claims.delete_webhookendpoint"),
    }

    def get_permissions(self) -> list[Any]:
        # Every action takes the key, whatever it is (OPTIONS' metadata, a method not allowed): the reads'.
        return [self.write_permissions.get(self.action, self.write_permissions["list"])]

    def get_queryset(self) -> WebhookEndpointQuerySet:
        """The request's key's endpoints (WebhookEndpointQuerySet.of_key): one query a page or an endpoint.
        None without a key (the permission has refused the request before; the schema's generation asks)."""
        key = request_key(self.request)
        if key is None:
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.of_key(key)

    def get_object(self, *, lock: bool = False) -> WebhookEndpoint:
        """The key's endpoint the URL names, locked for a write; a 404 for any other (another key's, the
        admin's, none), so a key cannot tell another's endpoint from a missing one. One query."""
        try:
            pk = whole_number(self.kwargs.get("pk") or "", low=1)
        except ValueError:
            raise Http404 from None
        queryset = self.get_queryset()
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        endpoint = queryset.filter(pk=pk).first()
        if endpoint is None:
            raise Http404
        return endpoint

    def _fields(self, request: Request, serializer: WebhookEndpointSerializer) -> None:
        """A 400 naming each field sent that the client cannot set (unknown, or read-only such as `secret`
        or `disabled_reason`), rather than ignoring it: a misspelt field is not silently dropped."""
        if not isinstance(request.data, dict):
            return  # the serializer says it wants an object
        writable = [name for name, field in serializer.fields.items() if not field.read_only]
        refused = sorted(set(request.data) - set(writable))
        if refused:
            raise ValidationError(
                {
                    name: [f"Not a field you can set. An endpoint's are: {', '.join(writable)}."]
                    for name in refused
                }
            )

    def _with_secret(
        self, endpoint: WebhookEndpoint, *, status_code: int, headers: dict[str, str]
    ) -> Response:
        """The endpoint with its secret, the one answer that shows it: never stored by any cache."""
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data,
            status=status_code,
            headers={**headers, "Cache-Control": "no-store"},
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The serializer's checks (the admin's URL check, the speaker and claim looked up), then the
        endpoint saved as this key's, made by its user. A fixed number of queries."""
        serializer = WebhookEndpointSerializer(data=request.data)
        self._fields(request, serializer)
        serializer.is_valid(raise_exception=True)
        with acting_with_key(request):
            endpoint = serializer.save(key=request_key(request), created_by=request.user)
        url = request.build_absolute_uri(reverse("api:webhook-detail", kwargs={"pk": endpoint.pk}))
        return self._with_secret(endpoint, status_code=status.HTTP_201_CREATED, headers={"Location": url})

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The endpoint locked, the fields sent checked and saved by claims.webhooks.save_endpoint (only
        them; enabled again, its disabled reason cleared). A fixed number of queries."""
        with acting_with_key(request):
            endpoint = self.get_object(lock=True)
            was_active = endpoint.is_active
            serializer = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
            self._fields(request, serializer)
            serializer.is_valid(raise_exception=True)
            for name, value in serializer.validated_data.items():
                setattr(endpoint, name, value)
            save_endpoint(
                endpoint,
                fields=list(serializer.validated_data),
                enabled_again=endpoint.is_active and not was_active,
            )
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The key's endpoint, deleted by claims.webhooks.delete_endpoint with its deliveries and their
        attempts (as the admin deletes one)."""
        with acting_with_key(request):
            delete_endpoint(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate one of your webhook endpoints' secret (API key: manage_webhooks)",
        description="A new signing secret, shown in this answer only; the previous one keeps signing beside "
        "it for 24 hours (`previous_secret_expires_at`): each request meanwhile carries two signatures, so "
        "the receiver switches over without losing one. Takes the user's change_webhookendpoint "
        "permission." + _SHOWN_ONCE,
        request=None,
        responses={200: WebhookEndpointCreatedSerializer, **_KEY_DETAIL_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rotate")
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        """The endpoint locked and its secret rotated by claims.webhooks.rotate_secret, as the admin's
        action does. A fixed number of queries."""
        with acting_with_key(request):
            endpoint = self.get_object(lock=True)
            rotate_secret(endpoint)
        return self._with_secret(endpoint, status_code=status.HTTP_200_OK, headers={})


# Exports ---------------------------------------------------------------------------------------------------


class ExportSchema(ApiSchema):
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


class ExportFilterSet(ClaimFilterSet):
    """The claim list's filters but `as_of`: an export is of the claims as they stand (its verdict summaries
    and overdue are today's), so a past day's statuses would mix two days in one file."""

    as_of = None

    class Meta(ClaimFilterSet.Meta):
        fields = [name for name in ClaimFilterSet.Meta.fields if name != "as_of"]


class ClaimExportView(GenericAPIView):
    """Streams the published claims that the filters select in one export format (claims.exports).

    Queries: the filters' own (a ?speaker=, the statuses for ?status=), then one a chunk of CHUNK_SIZE
    claims, speaker, source, status and the latest verdict's summary joined in; none for HEAD.
    """

    schema = ExportSchema()
    filterset_class = ExportFilterSet
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
