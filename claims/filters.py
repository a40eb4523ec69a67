"""The claim list's filters, one FilterSet for the public list (claims.views) and the API (claims.api.views).

Both read the same query parameters with the same rules and the same words: a value the filter cannot use
is a note on the page (which then lists no claims) and a 400 naming the parameter in the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField, ModelChoiceField

from claims.models import Claim, ClaimQuerySet, Kind, Speaker, Status, overdue_condition
from claims.prepared import PreparedQuery

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


class TrueFalseField(forms.Field):
    """`true` or `false` (a checkbox sends `true`); anything else is refused, not read as "no filter"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise ValidationError(self.error_messages["invalid"], "invalid")


class TrueFalseFilter(django_filters.Filter):
    field_class = TrueFalseField


# The earliest day ?as_of= may name: nothing was published before it.
EARLIEST_AS_OF = date(1900, 1, 1)


class AsOfField(forms.DateField):
    """A past day (YYYY-MM-DD), from 1900 to today in the site's time zone: the day a claim is shown as of.
    Read by the claim list's filters and by the claim page alike."""

    input_formats = ["%Y-%m-%d"]
    default_error_messages = {
        "invalid": "Must be a date as YYYY-MM-DD.",
        "future": "Must be today (%(today)s) or earlier: the status of a day to come is not known.",
        "too_early": "Must be 1900-01-01 or later.",
    }

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is None:
            return
        today = timezone.localdate()
        if value > today:
            raise ValidationError(self.error_messages["future"], "future", {"today": today.isoformat()})
        if value < EARLIEST_AS_OF:
            raise ValidationError(self.error_messages["too_early"], "too_early")


class AsOfFilter(django_filters.Filter):
    field_class = AsOfField


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


# Every status in scale order: the status menu of the claim list, and what ?status= is read against.
STATUSES = PreparedQuery(lambda: Status.objects.all())


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
        "are ordered by relevance within windows of the latest matches (the best of the latest "
        f"{settings.SEARCH_WINDOW} first, then the best of the {settings.SEARCH_WINDOW} before them...). Cut at "
        f"{MAX_SEARCH_LENGTH} characters.",
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
        method="filter_status",
        help_text="Claims whose current status (with `as_of`, their status on that day) is this one (its "
        "slug, as in /api/v1/statuses/).",
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
    overdue = TrueFalseFilter(
        label="Overdue",
        method="filter_overdue",
        help_text="true: only overdue claims, promises and predictions whose due date has passed while their "
        "status is still open (Open, In progress); false: only the others. Reckoned from today in the site's "
        "time zone (with `as_of`, from that day).",
    )
    due_after = django_filters.DateFilter(
        label="Due on or after",
        field_name="due_on",
        lookup_expr="gte",
        help_text="Promises and predictions due on or after this date (YYYY-MM-DD).",
    )
    due_before = django_filters.DateFilter(
        label="Due on or before",
        field_name="due_on",
        lookup_expr="lte",
        help_text="Promises and predictions due on or before this date (YYYY-MM-DD).",
    )
    as_of = AsOfFilter(
        label="As of",
        method="filter_as_of",
        help_text="Claims as they stood at the end of this day (YYYY-MM-DD, site time zone, from 1900 to "
        "today): each claim's status and status_changed_at are those of its latest verdict published by "
        "then, claims not yet rated then are left out, and the other filters read that status.",
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
        fields = [
            "q",
            "speaker",
            "status",
            "kind",
            "said_on_after",
            "said_on_before",
            "overdue",
            "due_after",
            "due_before",
            "as_of",
            "updated_since",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["status"].extra["statuses"] = self.statuses
        self._statuses: list[Status] | None = None

    def statuses(self) -> list[Status]:
        """Every status, in scale order (the page's status menu reads them too). One query, the first time
        (compiled once per process: claims.prepared)."""
        if self._statuses is None:
            self._statuses = STATUSES.run()
        return self._statuses

    def filter_queryset(self, queryset: ClaimQuerySet) -> ClaimQuerySet:
        """With ?as_of=, the claims as of that day first (ClaimQuerySet.as_of), so that every filter reads
        their status then."""
        day = self.form.cleaned_data.get("as_of")
        if day is not None:
            queryset = queryset.as_of(day)
        return super().filter_queryset(queryset)

    def filter_as_of(self, queryset: ClaimQuerySet, name: str, value: date) -> ClaimQuerySet:
        """Applied first, by filter_queryset."""
        return queryset

    def today(self) -> date:
        """The day overdue is reckoned from: ?as_of= when given, else today in the site's time zone."""
        self.is_valid()
        return self.form.cleaned_data.get("as_of") or timezone.localdate()

    def filter_status(self, queryset: ClaimQuerySet, name: str, value: Status) -> ClaimQuerySet:
        """The current status on claims_claim_status_idx; as of a day, the status then."""
        if queryset.is_as_of:
            return queryset.filter(as_of_status_id=value.pk)
        return queryset.filter(status=value)

    def filter_overdue(self, queryset: ClaimQuerySet, name: str, value: bool) -> ClaimQuerySet:
        """The rule (claims.models.overdue_condition) on the day of today(), for the status of that day."""
        condition = overdue_condition(self.today(), status="as_of_status" if queryset.is_as_of else "status")
        return queryset.filter(condition) if value else queryset.exclude(condition)

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
