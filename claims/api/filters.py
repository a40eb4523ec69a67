"""Query filters of the claims list. A value the filter cannot use is a 400 that names the parameter."""

from __future__ import annotations

from django_filters import rest_framework as filters

from claims.models import Claim, ClaimQuerySet, Kind, Speaker, Status


class ClaimFilter(filters.FilterSet):
    """Filters of /api/v1/claims/. Each filter given narrows the list; dates are inclusive.

    `speaker` and `status` look their slug up (one small query each, only when given), so an unknown
    slug is a 400 that says so rather than an empty list that looks like an answer.
    """

    speaker = filters.ModelChoiceFilter(
        queryset=Speaker.objects.published(),
        to_field_name="slug",
        help_text="Claims by this speaker (their slug, as in /api/v1/speakers/).",
        error_messages={"invalid_choice": "No speaker with published claims has the slug “%(value)s”."},
    )
    status = filters.ModelChoiceFilter(
        queryset=Status.objects.all(),
        to_field_name="slug",
        help_text="Claims whose current status is this one (its slug, as in /api/v1/statuses/).",
        error_messages={"invalid_choice": "There is no status with the slug “%(value)s”."},
    )
    kind = filters.ChoiceFilter(choices=Kind.choices, help_text="Claims of this kind.")
    q = filters.CharFilter(
        method="search",
        help_text="Full-text search over the claim's text, quote and speaker's name, in web-search syntax "
        '("exact phrase", or, -excluded). Results are ordered by relevance.',
    )
    said_on_after = filters.DateFilter(
        field_name="said_on", lookup_expr="gte", help_text="Claims made on or after this date (YYYY-MM-DD)."
    )
    said_on_before = filters.DateFilter(
        field_name="said_on", lookup_expr="lte", help_text="Claims made on or before this date (YYYY-MM-DD)."
    )
    updated_since = filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Claims changed (including a new status) at or after this ISO 8601 time, such as "
        "2025-05-19T10:00:00Z. A time without an offset is read in the site's time zone (UTC unless "
        "configured); write the + of an offset as %2B.",
    )

    class Meta:
        model = Claim
        fields = ["speaker", "status", "kind", "q", "said_on_after", "said_on_before", "updated_since"]

    def search(self, queryset: ClaimQuerySet, name: str, value: str) -> ClaimQuerySet:
        """Full-text match on the GIN-indexed search column; the paginator then orders by rank."""
        return queryset.search(value)
