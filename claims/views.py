"""The public, read-only pages: the latest changes, the claim list and search, a claim, a speaker.

Every page starts from Claim.objects.published() (or what is built on it) and costs a fixed, small number
of queries whatever the number of rows; tests/test_pages.py pins them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.views.generic import DetailView, ListView

from claims.claimreview import claim_review, json_ld_script
from claims.filters import ClaimFilterSet
from claims.models import Claim, ClaimQuerySet, Kind, Speaker, Status, StatusChange
from claims.pagination import ClaimPage, paginate_claims

# How many of the latest status changes the home page lists.
LATEST_CHANGES = 10


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


@dataclass(frozen=True)
class ListedFilters:
    """What the claim list shows of its filters: the values in use, the status menu, and the problems."""

    q: str
    status: Status | None
    speaker: Speaker | None
    kind: str
    statuses: list[Status]
    problems: list[str]

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.speaker or self.kind or self.problems)


class ClaimListView(ListView):
    """Published claims, latest status change first (by relevance when searching), paged by cursor.

    The filters are claims.filters.ClaimFilterSet, the API's own: a value it cannot use is a note on the
    page, and the page then lists no claims.
    """

    template_name = "claims/claim_list.html"
    context_object_name = "claims"

    def get_queryset(self) -> ClaimQuerySet:
        """Published claims with speaker, source and status joined in, filtered; no query until paged.

        Reads the statuses (one query, for the status menu too) and, with ?speaker=, the speaker (one more).
        """
        self.filterset = ClaimFilterSet(self.request.GET, queryset=Claim.objects.published().for_listing())
        if not self.filterset.is_valid():
            return Claim.objects.none()
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Pages the claims: one query (none when a filter names something unknown)."""
        filterset = self.filterset
        page = (
            paginate_claims(self.object_list, self.request)
            if filterset.is_valid()
            else ClaimPage(claims=[], newer_url=None, older_url=None)
        )
        filters = ListedFilters(
            q=filterset.cleaned("q") or "",
            status=filterset.cleaned("status"),
            speaker=filterset.cleaned("speaker"),
            kind=filterset.cleaned("kind") or "",
            statuses=filterset.statuses(),
            problems=filterset.problems,
        )
        context = super().get_context_data(object_list=page.claims, **kwargs)
        context.update(page=page, filters=filters, kinds=Kind.choices)
        return context


# One claim ------------------------------------------------------------------------------------------


class ClaimDetailView(DetailView):
    """A claim: its text, quote in context, speaker, source, status, the timeline and ClaimReview."""

    template_name = "claims/claim_detail.html"
    context_object_name = "claim"

    def get_queryset(self) -> ClaimQuerySet:
        """The claim with speaker, source and status joined in, its scale's bounds and its verified quote's
        window of the archived text (one query), and its published verdicts with their evidence (one more):
        two queries for any number of verdicts. The page never reads the whole archived text.
        """
        return (
            Claim.objects.published()
            .select_related("speaker", "source", "status")
            .defer("search")
            .with_scale_bounds()
            .with_quote_context()
            .with_timeline()
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        claim = self.object
        context["quote_in_context"] = claim.quote_context()
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
