"""The public, read-only pages: the latest changes, the claim list and search, a claim, a speaker.

Every page starts from Claim.objects.published() (or what is built on it) and costs a fixed, small number
of queries whatever the number of rows; tests/test_pages.py pins them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.views.generic import DetailView, ListView
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from claims.claimreview import claim_review, json_ld_script
from claims.models import Claim, ClaimQuerySet, Kind, Speaker, Status, StatusChange
from claims.pagination import ClaimCursorPagination
from claims.quotes import quote_in_context

# Longer search text is cut here: a search box needs no more, and it bounds the work of one request.
MAX_SEARCH_LENGTH = 1000
# How many of the latest status changes the home page lists.
LATEST_CHANGES = 10


# Paging ---------------------------------------------------------------------------------------------


class PageCursorPagination(ClaimCursorPagination):
    """The API's cursor paging for pages: a page_size that is not a whole number from 1 is ignored."""

    def get_page_size(self, request: Request) -> int:
        try:
            return super().get_page_size(request)
        except ValidationError:
            return self.page_size


@dataclass
class ClaimPage:
    """One page of claims and the relative links to the newer and the older page (None at either end)."""

    claims: list[Claim]
    newer_url: str | None
    older_url: str | None


def paginate_claims(queryset: ClaimQuerySet, request: HttpRequest) -> ClaimPage:
    """The page of queryset that the request's ?cursor= points at. One query (LIMIT page size + 1).

    A malformed cursor, or one that points past every claim (stale or made up), is a 404.
    """
    paginator = PageCursorPagination()
    try:
        claims = paginator.paginate_queryset(queryset, Request(request))
    except (ValidationError, DjangoValidationError, ValueError, TypeError):
        # Not a cursor we made: undecodable, or a position that is not a date (or a rank) at all.
        raise Http404("This page of claims does not exist.") from None
    if not claims and request.GET.get(paginator.cursor_query_param):
        raise Http404("This page of claims does not exist.")
    return ClaimPage(
        claims=list(claims or []),
        newer_url=_relative(paginator.get_previous_link(), request),
        older_url=_relative(paginator.get_next_link(), request),
    )


def _relative(url: str | None, request: HttpRequest) -> str | None:
    """The page's own path with the link's query string (which keeps every filter of the request)."""
    if url is None:
        return None
    query = urlsplit(url).query
    return f"{request.path}?{query}" if query else request.path


# Home -----------------------------------------------------------------------------------------------


class HomeView(ListView):
    """The latest status changes and how many published claims have each status."""

    template_name = "claims/home.html"
    context_object_name = "changes"

    def get_queryset(self) -> QuerySet[StatusChange]:
        """The latest published status changes, newest first, claim, speaker and statuses joined: one query."""
        return (
            StatusChange.objects.for_feed().select_related("claim__speaker").order_by("-id")[:LATEST_CHANGES]
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds the statuses with their published-claim counts: one query."""
        context = super().get_context_data(**kwargs)
        context["statuses"] = list(Status.objects.with_claim_counts())
        return context


# Claim list and search ------------------------------------------------------------------------------


@dataclass
class ClaimFilters:
    """What the reader asked the claim list for, read from the query string; unknown values become notes."""

    q: str = ""
    status: Status | None = None
    speaker: Speaker | None = None
    kind: str = ""
    statuses: list[Status] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def matches_nothing(self) -> bool:
        """An unknown status, speaker or kind was asked for: the honest answer is no claims."""
        return bool(self.problems)

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.speaker or self.kind or self.problems)

    @classmethod
    def from_request(cls, request: HttpRequest) -> ClaimFilters:
        """Read ?q=, ?status=, ?speaker=, ?kind=. One query for the statuses, one more with ?speaker=."""
        params = request.GET
        filters = cls(q=params.get("q", "").strip()[:MAX_SEARCH_LENGTH])
        filters.statuses = list(Status.objects.all())

        status_slug = params.get("status", "").strip()
        if status_slug:
            filters.status = next((s for s in filters.statuses if s.slug == status_slug), None)
            if filters.status is None:
                filters.problems.append(f"There is no status “{status_slug}”.")

        speaker_slug = params.get("speaker", "").strip()
        if speaker_slug:
            filters.speaker = Speaker.objects.filter(slug=speaker_slug).first()
            if filters.speaker is None:
                filters.problems.append(f"There is no speaker “{speaker_slug}”.")

        kind = params.get("kind", "").strip()
        if kind:
            if kind in Kind.values:
                filters.kind = kind
            else:
                filters.problems.append(f"There is no kind of claim “{kind}”.")
        return filters

    def apply(self, claims: ClaimQuerySet) -> ClaimQuerySet:
        """The claims that match; no query until evaluated."""
        if self.matches_nothing:
            return claims.none()
        if self.status is not None:
            claims = claims.filter(status=self.status)
        if self.speaker is not None:
            claims = claims.filter(speaker=self.speaker)
        if self.kind:
            claims = claims.filter(kind=self.kind)
        if self.q:
            claims = claims.search(self.q)
        return claims


class ClaimListView(ListView):
    """Published claims, latest status change first (by relevance when searching), paged by cursor."""

    template_name = "claims/claim_list.html"
    context_object_name = "claims"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any):
        self.filters = ClaimFilters.from_request(request)
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> ClaimQuerySet:
        """Published claims with speaker, source and status joined in, filtered; no query until paged."""
        return self.filters.apply(Claim.objects.published().for_listing())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Pages the claims: one query (none when a filter names something unknown)."""
        page = (
            ClaimPage(claims=[], newer_url=None, older_url=None)
            if self.filters.matches_nothing
            else paginate_claims(self.object_list, self.request)
        )
        context = super().get_context_data(object_list=page.claims, **kwargs)
        context.update(page=page, filters=self.filters, kinds=Kind.choices)
        return context


# One claim ------------------------------------------------------------------------------------------


class ClaimDetailView(DetailView):
    """A claim: its text, quote in context, speaker, source, status, the timeline and ClaimReview."""

    template_name = "claims/claim_detail.html"
    context_object_name = "claim"

    def get_queryset(self) -> ClaimQuerySet:
        """The claim with speaker, source and status joined in and its scale's bounds (one query), and its
        published verdicts with their evidence (one more): two queries for any number of verdicts.
        """
        return (
            Claim.objects.published()
            .select_related("speaker", "source", "status")
            .with_scale_bounds()
            .with_timeline()
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        claim = self.object
        context["quote_in_context"] = quote_in_context(
            claim.quote, claim.source.archived_text, claim.speaker.name
        )
        for verdict in claim.timeline:
            # The evidence comes as JSON: its dates as ISO strings.
            for item in verdict.evidence_list:
                published_on = item["source"].get("published_on")
                item["source"]["published_on"] = date.fromisoformat(published_on) if published_on else None
        context["canonical_url"] = claim.public_url(self.request)
        review = claim_review(claim, self.request)
        context["claimreview_script"] = json_ld_script(review) if review is not None else ""
        return context


# One speaker ----------------------------------------------------------------------------------------


class SpeakerDetailView(DetailView):
    """A speaker, how many of their published claims have each status, and those claims, paged."""

    template_name = "claims/speaker_detail.html"
    context_object_name = "speaker"

    def get_queryset(self) -> QuerySet[Speaker]:
        """Speakers with a published claim (one query with an EXISTS); the others are a 404."""
        return Speaker.objects.published()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds the status counts (one query) and a page of the speaker's claims (one query)."""
        context = super().get_context_data(**kwargs)
        claims = Claim.objects.published().filter(speaker=self.object)
        statuses = Status.objects.with_claim_counts(claims).filter(claim_count__gt=0)
        context["statuses"] = list(statuses)
        context["page"] = paginate_claims(claims.for_listing(), self.request)
        return context
