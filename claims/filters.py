"""The claim list's filters, one FilterSet for the public list (claims.views) and the API (claims.api.views).

Both read the same query parameters with the same rules and the same words: a value the filter cannot use
is a note on the page (which then lists no claims) and a 400 naming the parameter in the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField, ModelChoiceField

from claims.models import Claim, ClaimQuerySet, Kind, Speaker, Status

# Longer search text is cut here: a search box needs no more, and it bounds the work of one request.
MAX_SEARCH_LENGTH = 1000

# How far back a client following `updated_since` should ask again, past its previous request: a claim's
# updated_at is the time of the write, and the write is seen only once its transaction commits. The overlap
# must outlast the longest write transaction: a request's is cut at gunicorn's 30-second worker timeout (its
# connection closes, rolling back), and the commands that write (load_default_data, imports) take seconds.
UPDATED_SINCE_OVERLAP = timedelta(minutes=5)
UPDATED_SINCE_OVERLAP_TEXT = "five minutes"


class SearchTextField(forms.CharField):
    """Search text, cut at MAX_SEARCH_LENGTH characters (what is searched, and what the page shows back)."""

    def to_python(self, value: Any) -> str:
        return super().to_python(value)[:MAX_SEARCH_LENGTH]


class SearchFilter(django_filters.CharFilter):
    field_class = SearchTextField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, in UTC: Python reads offsets up to ±23:59, PostgreSQL only up to ±15:59, so the
    time is sent to the database as the same instant in UTC. One out of Python's range in UTC (the first
    hours of year 1 at a + offset, the last of 9999 at a - one) becomes the first or last time there is,
    which filters the claims the same way.
    """

    def to_python(self, value: Any) -> datetime | None:
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class StatusSlugField(forms.CharField):
    """A status slug, read into the Status it names from the statuses the filterset loaded (no query)."""

    default_error_messages = {"invalid_choice": "There is no status “%(value)s”."}

    def __init__(self, *, statuses: Any = None, **kwargs: Any) -> None:
        self.statuses = statuses
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Status | None:
        slug = super().clean(value)
        if not slug:
            return None
        found = next((status for status in self.statuses() if status.slug == slug), None)
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], "invalid_choice", {"value": slug})
        return found


class StatusFilter(django_filters.CharFilter):
    field_class = StatusSlugField


class SpeakerSlugField(ModelChoiceField):
    """A speaker's slug, or one of their former slugs (claims.models.OldSpeakerSlug): an old link to a
    speaker's claims keeps working. The old slug costs one query more, only when no speaker has the slug."""

    def to_python(self, value: Any) -> Speaker | None:
        try:
            return super().to_python(value)
        except ValidationError:
            speaker = self.queryset.filter(old_slugs__slug=value).first() if value else None
            if speaker is None:
                raise
            return speaker


class SpeakerFilter(django_filters.ModelChoiceFilter):
    field_class = SpeakerSlugField


class ClaimFilterSet(django_filters.FilterSet):
    """Filters of the claim list (/claims/ and /api/v1/claims/). Each filter given narrows the list; dates
    are inclusive. The statuses are read once (one query, only when needed: the page's status menu or a
    ?status=); ?speaker= costs one query (only published speakers: an unpublished one is unknown).
    """

    q = SearchFilter(
        label="Search",
        method="filter_search",
        help_text="Full-text search over the claim's text, quote and speaker's name, in web-search syntax "
        f'("exact phrase", or, -excluded). A plain word of four or more letters also finds a speaker\'s name '
        'spelled like it ("Zelenskyy" finds Volodymyr Zelensky), ranked after the full-text matches. Results '
        f"are ordered by relevance. Cut at {MAX_SEARCH_LENGTH} characters.",
    )
    speaker = SpeakerFilter(
        label="Speaker",
        queryset=Speaker.objects.published(),
        to_field_name="slug",
        help_text="Claims by this speaker (their slug, as in /api/v1/speakers/, or a former one).",
        error_messages={"invalid_choice": "There is no speaker “%(value)s” with published claims."},
    )
    status = StatusFilter(
        label="Status",
        field_name="status",
        help_text="Claims whose current status is this one (its slug, as in /api/v1/statuses/).",
    )
    kind = django_filters.ChoiceFilter(
        label="Kind",
        choices=Kind.choices,
        help_text="Claims of this kind.",
        error_messages={"invalid_choice": "There is no kind of claim “%(value)s”."},
    )
    said_on_after = django_filters.DateFilter(
        label="Said on or after",
        field_name="said_on",
        lookup_expr="gte",
        help_text="Claims made on or after this date (YYYY-MM-DD).",
    )
    said_on_before = django_filters.DateFilter(
        label="Said on or before",
        field_name="said_on",
        lookup_expr="lte",
        help_text="Claims made on or before this date (YYYY-MM-DD).",
    )
    updated_since = UtcDateTimeFilter(
        label="Updated since",
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Claims changed (including a new status, and their speaker's or source's new name) at or "
        "after this ISO 8601 time, such as 2025-05-19T10:00:00Z. A time without an offset is read in the "
        "site's time zone (UTC unless configured); write the + of an offset as %2B. Approximate: a change is "
        "dated when it is written, and may be committed (become visible) a little later, so ask again from "
        f"the time of your previous request minus {UPDATED_SINCE_OVERLAP_TEXT} and skip what you have "
        "already seen (same id and updated_at). To follow every change exactly, in commit order, read "
        "/api/v1/changes/ with ?after=.",
    )

    # Each filter has its label: django-filter would otherwise work one out from the model on every request.

    class Meta:
        model = Claim
        fields = ["q", "speaker", "status", "kind", "said_on_after", "said_on_before", "updated_since"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["status"].extra["statuses"] = self.statuses
        self._statuses: list[Status] | None = None

    def statuses(self) -> list[Status]:
        """Every status, in scale order (the page's status menu reads them too). One query, the first time."""
        if self._statuses is None:
            self._statuses = list(Status.objects.all())
        return self._statuses

    def filter_search(self, queryset: ClaimQuerySet, name: str, value: str) -> ClaimQuerySet:
        """Full-text match on the GIN-indexed search column, and near-spellings of speakers' names on their
        trigram index (ClaimQuerySet.search); the paginator then orders by rank."""
        return queryset.search(value)

    @property
    def problems(self) -> list[str]:
        """What the filters could not use, one sentence each (the form's errors). Validates the filters."""
        return [message for messages in self.errors.values() for message in messages]

    def cleaned(self, name: str) -> Any:
        """The value a filter was given, read (a Speaker, a Status, a string...); None when absent or unusable."""
        self.is_valid()
        return self.form.cleaned_data.get(name)
