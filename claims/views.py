"""The public, read-only pages: the latest changes, the claim list and search, a claim, a speaker.

Every page starts from Claim.objects.published() (or what is built on it) and costs a fixed, small number
of queries whatever the number of rows; tests/test_pages.py pins them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import Truncator
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, ListView

from claims.claimreview import claim_review, json_ld_script
from claims.filters import STATUSES, AsOfField, ClaimFilterSet
from claims.models import (
    Claim,
    ClaimQuerySet,
    Correction,
    Event,
    EventQuerySet,
    EventType,
    Kind,
    OldClaimSlug,
    OldSpeakerSlug,
    Speaker,
    Status,
    StatusChange,
    Verdict,
    end_of_day,
)
from claims.pagination import CORRECTIONS, ClaimPage, paginate_claims, paginate_page
from claims.prepared import PreparedQuery
from claims.site_urls import absolute_url

# How many of the latest status changes the home page lists.
LATEST_CHANGES = 10
# How many overdue claims the home page lists (the longest overdue first), and up to how many it counts:
# beyond that it says "more than", so the count stays a bounded scan of the due-date index.
HOME_OVERDUE = 5
OVERDUE_COUNT_CAP = 100
# What a correction's changes are called on the pages and in the feed.
CHANGED_FIELD_LABELS = {
    "text": "text",
    "quote": "quote",
    "speaker": "speaker",
    "source": "source",
    "said_on": "date said",
    "kind": "kind",
    "status": "rating",
}


@dataclass(frozen=True)
class ChangeShown:
    """One change of a correction as readers see it: what, before and after, in words."""

    field: str
    old: str
    new: str


def _value_shown(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("title") or "")
    if value is None or value == "":
        return "(none)"
    return str(value)


def changes_shown(changes: dict[str, dict[str, Any]]) -> list[ChangeShown]:
    """A correction's changes ({field: {old, new}}) in words, in a fixed order. Runs no query."""
    return [
        ChangeShown(
            field=label, old=_value_shown(changes[field]["old"]), new=_value_shown(changes[field]["new"])
        )
        for field, label in CHANGED_FIELD_LABELS.items()
        if field in changes
    ]


# How many corrections the Atom feed carries.
FEED_CORRECTIONS = 50


def redirect_from_old_slug(request: HttpRequest, url: str) -> HttpResponsePermanentRedirect:
    """A permanent redirect to `url`, the request's query string kept."""
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


def claim_slug_of_old_slug(slug: str) -> str | None:
    """The current slug of the published claim that once had `slug`, or None. One query."""
    old = OldClaimSlug.objects.filter(slug=slug, claim__status__isnull=False)
    return old.values_list("claim__slug", flat=True).first()


def speaker_of_old_slug(slug: str) -> Speaker | None:
    """The speaker who once had `slug`, or None. One query."""
    old = OldSpeakerSlug.objects.filter(slug=slug).select_related("speaker").first()
    return old.speaker if old is not None else None


# Home -----------------------------------------------------------------------------------------------


class HomeView(ListView):
    """The latest status changes, the longest-overdue claims, and how many published claims have each status.

    Three queries, each the same cost at a million claims as at ten (tests/test_pages.py pins them; at 1M
    claims the page takes ~8 ms in process on two cores, ~100 ms when it counted the claims): the counts are
    summed from the tally the database keeps (StatusTally), and the statuses they come with are those the
    changes show, so the changes do not join them again (~1 ms less).
    """

    template_name = "claims/home.html"
    context_object_name = "changes"

    def get_queryset(self) -> list[StatusChange]:
        """The latest status changes, claim and speaker joined (their statuses are set from the counts'
        list: get_context_data): one query, compiled once per process (LATEST_CHANGES_QUERY)."""
        return LATEST_CHANGES_QUERY.run()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds the statuses with their published-claim counts (one query, compiled once per process),
        whence the changes get their statuses, and the overdue claims (one query)."""
        statuses = STATUS_COUNTS.run()
        by_id = {status.pk: status for status in statuses}
        changes = list(self.object_list)
        for change in changes:
            change.from_status = by_id.get(change.from_status_id)
            change.to_status = by_id[change.to_status_id]
        today = timezone.localdate()
        context = super().get_context_data(object_list=changes, **kwargs)
        context.update(statuses=statuses, today=today, **overdue_on_home(today))
        return context


# The home page's two queries that take no value, compiled once per process (claims.prepared): the latest
# changes and the statuses with their counts. The overdue claims' query takes today's date twice (the rows
# and their count), which a PreparedQuery does not allow, so it is built per request.
LATEST_CHANGES_QUERY = PreparedQuery(lambda: StatusChange.objects.newest_first()[:LATEST_CHANGES])
STATUS_COUNTS = PreparedQuery(lambda: Status.objects.with_claim_counts())


def overdue_on_home(today: date) -> dict[str, Any]:
    """The longest-overdue claims (HOME_OVERDUE of them, speaker, source and status joined) and how many
    claims are overdue, counted up to OVERDUE_COUNT_CAP + 1: one query (ClaimQuerySet.longest_overdue), on
    claims_claim_due_idx, that never reads every claim however many there are.
    """
    claims = list(
        Claim.objects.longest_overdue(today, count_up_to=OVERDUE_COUNT_CAP + 1).for_listing()[:HOME_OVERDUE]
    )
    counted = claims[0].overdue_total if claims else 0
    return {
        "overdue_claims": claims,
        "overdue_count": min(counted, OVERDUE_COUNT_CAP),
        "overdue_more": counted > OVERDUE_COUNT_CAP,
    }


# Claim list and search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedFilters:
    """What the claim list shows of its filters: the values in use, the status menu, and the problems."""

    statuses: list[Status]
    q: str = ""
    status: Status | None = None
    speaker: Speaker | None = None
    kind: str = ""
    problems: list[str] = field(default_factory=list)
    overdue: bool | None = None
    due_after: date | None = None
    due_before: date | None = None
    as_of: date | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.status
            or self.speaker
            or self.kind
            or self.problems
            or self.overdue is not None
            or self.due_after
            or self.due_before
            or self.as_of
        )


class ClaimListView(ListView):
    """Published claims, latest status change first (by relevance when searching), paged by cursor.

    The filters are claims.filters.ClaimFilterSet, the API's own: a value it cannot use is a note on the
    page, and the page then lists no claims.
    """

    template_name = "claims/claim_list.html"
    context_object_name = "claims"
    # The claims' shape, built once per process: with no filter asked (most views of the list), its pages
    # are prepared (paginate_claims' fixed_shape), as the API's claim list's are.
    rows = Claim.objects.published().for_claim_rows()

    def get_queryset(self) -> ClaimQuerySet:
        """Published claims with speaker and status joined in (for_claim_rows), filtered; no query until paged.

        With a filter asked, ClaimFilterSet reads the statuses (one query, for the status menu too) and, with
        ?speaker=, the speaker (one more). With none, the shape built once, and no FilterSet (its form, built
        and validated per request, cost as much as the page's query).
        """
        if not self.request.GET.keys() & ClaimFilterSet.base_filters.keys():
            self.filterset = None
            return self.rows
        self.filterset = ClaimFilterSet(self.request.GET, queryset=Claim.objects.published().for_claim_rows())
        if not self.filterset.is_valid():
            return Claim.objects.none()
        return self.filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Pages the claims: one query (none when a filter names something unknown), and the statuses (one)."""
        filterset = self.filterset
        if filterset is None:
            page = paginate_claims(self.rows, self.request, fixed_shape=True)
            filters = ListedFilters(statuses=STATUSES.run())
            today = timezone.localdate()
        else:
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
                overdue=filterset.cleaned("overdue"),
                due_after=filterset.cleaned("due_after"),
                due_before=filterset.cleaned("due_before"),
                as_of=filterset.cleaned("as_of"),
            )
            today = filterset.today()
        context = super().get_context_data(object_list=page.claims, **kwargs)
        # The day the Overdue badges are reckoned from: as of a past day, that day.
        context.update(page=page, filters=filters, kinds=Kind.choices, today=today)
        return context


# One claim ------------------------------------------------------------------------------------------


class ClaimDetailView(DetailView):
    """A claim: its text, quote in context, speaker, source, status, the timeline and ClaimReview."""

    template_name = "claims/claim_detail.html"
    context_object_name = "claim"

    # ?as_of=: the day the page shows the claim as of (None: as it stands now), and what was wrong with it.
    as_of: date | None = None
    as_of_problem: str = ""

    def get_queryset(self) -> ClaimQuerySet:
        """The claim with speaker, source and status joined in, its scale's bounds and its verified quote's
        window of the archived text (one query), and its published verdicts with their evidence (one more):
        two queries for any number of verdicts. The page never reads the whole archived text.

        As of a past day, the same two queries: the claim with its status then (ClaimQuerySet.as_of, a 404
        when it had no published verdict by then), and the verdicts and corrections published by then.
        """
        before = end_of_day(self.as_of) if self.as_of is not None else None
        claims = claim_page_claims(before=before).with_timeline(before=before)
        return claims.as_of(self.as_of) if self.as_of is not None else claims

    def get_object(self, queryset: QuerySet[Claim] | None = None) -> Claim:
        """The claim, as get_queryset() reads it: two queries. As it stands now (the page nearly every reader
        sees), their SQL is compiled once per process (CLAIM_PAGE and TIMELINE); as of a past day, the
        queryset is built for the day."""
        if self.as_of is not None:
            return super().get_object(queryset)
        claims = CLAIM_PAGE.run(slug=self.kwargs[self.slug_url_kwarg])
        if not claims:
            raise Http404("No claim found matching the query")
        claim = claims[0]
        claim.timeline = TIMELINE.run(claim_id=claim.pk)
        return claim

    def read_as_of(self, request: HttpRequest) -> None:
        """?as_of=, read as the claim list's filter reads it. A day we cannot answer for is a note on the
        page, which then shows the claim as it stands now, with a 400."""
        try:
            self.as_of = AsOfField(required=False).clean(request.GET.get("as_of"))
        except ValidationError as error:
            self.as_of_problem = " ".join(error.messages)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The claim; at a former slug of a published claim, a 301 to its page (one query more, only when
        no claim has the slug)."""
        self.read_as_of(request)
        try:
            response = super().get(request, *args, **kwargs)
            if self.as_of_problem:
                response.status_code = 400
            return response
        except Http404:
            claim = claim_slug_of_old_slug(kwargs["slug"])
            if claim is None:
                raise
            return redirect_from_old_slug(request, Claim(slug=claim).get_absolute_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        claim = self.object
        context["quote_in_context"] = claim.quote_context()
        for verdict in claim.timeline:
            # The evidence comes as JSON: its dates as ISO strings.
            for item in verdict.evidence_list:
                published_on = item["source"].get("published_on")
                item["source"]["published_on"] = date.fromisoformat(published_on) if published_on else None
        for correction in claim.correction_list:
            # The corrections come as JSON: their times as ISO strings.
            correction["published_at"] = datetime.fromisoformat(correction["published_at"])
            correction["changes_shown"] = changes_shown(correction["changes"])
        context["canonical_url"] = claim.public_url(self.request)
        context["claimreview_script"] = self.claimreview_script(claim)
        today = self.as_of or timezone.localdate()
        context.update(
            today=today,
            as_of=self.as_of,
            as_of_problem=self.as_of_problem,
            due=due_shown(claim, today),
        )
        return context

    def claimreview_script(self, claim: Claim) -> str:
        # As of a past day, none: ClaimReview says how we rate the claim, which is the current page's to say.
        if self.as_of is not None:
            return ""
        review = claim_review(claim, self.request)
        return json_ld_script(review) if review is not None else ""


def claim_page_claims(*, before: datetime | None = None) -> ClaimQuerySet:
    """The claim page's claims, each with speaker, source and status joined in, its scale's bounds, its
    corrections (published before `before`, when given) and its quote's window: one query, the timeline
    apart (ClaimDetailView.get_queryset)."""
    return (
        Claim.objects.published()
        .select_related("speaker", "source", "status")
        .defer("search")
        .with_scale_bounds()
        .with_corrections(before=before)
        .with_quote_context()
    )


# The claim page as it stands now, its two queries compiled once per process (claims.prepared): the claim by
# its slug, and its published timeline (ClaimQuerySet.with_timeline's verdicts, for one claim).
CLAIM_PAGE = PreparedQuery(lambda slug: claim_page_claims().filter(slug=slug)[:1], slug=str)
TIMELINE = PreparedQuery(
    lambda claim_id: Verdict.objects.published().for_timeline().filter(claim_id=claim_id), claim_id=int
)


@dataclass(frozen=True)
class DueShown:
    """A claim's due date as the claim page says it: overdue since a day, or days left while open."""

    due_on: date
    overdue_since: date | None
    # Days until the due date for a claim still open and not yet due (0: due today); None otherwise.
    days_left: int | None


def due_shown(claim: Claim, today: date) -> DueShown | None:
    """What the page says of the due date on `today`: None without one. Runs no query (the status is joined)."""
    if claim.due_on is None:
        return None
    since = claim.overdue_since(today)
    still_open = claim.status_id is not None and claim.status.is_open
    days_left = (
        (claim.due_on - today).days if since is None and still_open and claim.due_on >= today else None
    )
    return DueShown(due_on=claim.due_on, overdue_since=since, days_left=days_left)


@method_decorator(never_cache, name="dispatch")
class VerdictPreviewView(ClaimDetailView):
    """A draft verdict on its claim's public page, as it would look published now: for staff who may view
    verdicts, before they publish it. Clearly marked, never indexed, never cached; for anyone else it does
    not exist (a 404, the same as for an unknown id). A published verdict's preview is its claim's page.

    Nothing is written: the draft's publication time and the claim's status are set on the objects in
    memory only. No ClaimReview JSON-LD (nothing is reviewed publicly yet). Three queries beyond the user's
    permissions: the draft with its evidence, the claim, its published timeline.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The 404s are returned, not raised, so that they too are never cached (never_cache above).
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm("claims.view_verdict")):
            return defaults.page_not_found(request, Http404("No such page."))
        self.draft = Verdict.objects.with_evidence().filter(pk=kwargs["pk"]).first()
        if self.draft is None:
            return defaults.page_not_found(request, Http404("No such page."))
        if self.draft.is_published:
            return HttpResponseRedirect(self.draft.claim.get_absolute_url())
        response = super().dispatch(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def read_as_of(self, request: HttpRequest) -> None:
        """A preview is of now: ?as_of= is not read."""

    def get_object(self, queryset: QuerySet[Claim] | None = None) -> Claim:
        """The draft's claim, published or not, with its published timeline: the draft is put on top."""
        claim = (
            Claim.objects.select_related("speaker", "source", "status")
            .with_scale_bounds()
            .with_corrections()
            .with_quote_context()
            .with_timeline()
            .get(pk=self.draft.claim_id)
        )
        self.draft.published_at = claim.status_changed_at = timezone.now()
        claim.status = self.draft.status
        claim.timeline = [self.draft, *claim.timeline]
        return claim

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["preview"] = self.draft
        return context

    def claimreview_script(self, claim: Claim) -> str:
        return ""


# One speaker ----------------------------------------------------------------------------------------


class SpeakerDetailView(DetailView):
    """A speaker, how many of their published claims have each status, and those claims, paged."""

    template_name = "claims/speaker_detail.html"
    context_object_name = "speaker"

    def get_queryset(self) -> QuerySet[Speaker]:
        """Speakers with a published claim (one query with an EXISTS); the others are a 404."""
        return Speaker.objects.published()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The speaker; at a former slug, a 301 to their page (one query more, only when no published speaker
        has the slug)."""
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            speaker = speaker_of_old_slug(kwargs["slug"])
            if speaker is None:
                raise
            return redirect_from_old_slug(request, speaker.get_absolute_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds the status counts (one query, on the speaker's tally) and a page of the speaker's claims (one
        query)."""
        context = super().get_context_data(**kwargs)
        claims = Claim.objects.published().filter(speaker=self.object)
        statuses = Status.objects.with_claim_counts(speaker=self.object).filter(claim_count__gt=0)
        context["statuses"] = list(statuses)
        context["page"] = paginate_claims(claims.for_claim_rows(), self.request)
        context["today"] = timezone.localdate()
        return context


# Corrections ----------------------------------------------------------------------------------------


class CorrectionListView(ListView):
    """Every correction of a published claim, newest first, paged by cursor: the claim, when, why, and what
    changed."""

    template_name = "claims/correction_list.html"
    context_object_name = "corrections"

    def get_queryset(self) -> QuerySet[Correction]:
        """Corrections of published claims, claim joined in; no query until paged."""
        return Correction.objects.published().for_listing()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Pages the corrections: one query (LIMIT page size + 1 on the primary key's index)."""
        page = paginate_page(self.object_list, CORRECTIONS, self.request)
        for correction in page.rows:
            correction.changes_shown = changes_shown(correction.changes)
        context = super().get_context_data(object_list=page.rows, **kwargs)
        context["page"] = page
        return context


# Atom feeds -----------------------------------------------------------------------------------------


class PlainTextAtom1Feed(Atom1Feed):
    """Atom 1.0 whose entry summaries are plain text (type="text"), as ours are: Django's Atom1Feed marks
    them type="html", which would have a feed reader render a claim's "<script>" as markup, not show it."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        description, item["description"] = item["description"], None
        super().add_item_elements(handler, item)
        item["description"] = description
        if description is not None:
            handler.addQuickElement("summary", description, {"type": "text"})


class AtomFeed(Feed):
    """What every Atom feed of the site shares: Atom 1.0 with plain-text summaries, the publishing
    organisation as the feed's author (RFC 4287 wants an author for each entry or for the feed), and each
    entry's time as both published and updated (what it reports never changes: a change is a new entry)."""

    feed_type = PlainTextAtom1Feed
    # The item's attribute holding when it happened (a correction's published_at, an event's created_at).
    item_time_attribute = "published_at"

    def author_name(self) -> str:
        return settings.FACTCHECK_ORGANIZATION_NAME

    def item_pubdate(self, item: Any) -> datetime:
        return self.item_time(item)

    def item_updateddate(self, item: Any) -> datetime:
        return self.item_time(item)

    def item_time(self, item: Any) -> datetime:
        return getattr(item, self.item_time_attribute)


def correction_summary(note: str, changes: dict[str, Any]) -> str:
    """A correction in a sentence or two, as the feeds show it: its note, and which fields it changed."""
    changed = ", ".join(CHANGED_FIELD_LABELS.get(field, field) for field in sorted(changes))
    return f"{note} (Changed: {changed}.)" if changed else note


class CorrectionFeed(AtomFeed):
    """/corrections/feed/: the latest corrections as an Atom feed. One query."""

    title = "Corrections"
    subtitle = "Corrections of published fact checks: what changed, and why."

    def link(self) -> str:
        return reverse("claims:correction-list")

    def items(self) -> list[Correction]:
        return list(Correction.objects.published().for_listing().order_by("-id")[:FEED_CORRECTIONS])

    def item_title(self, correction: Correction) -> str:
        return f"Correction: {correction.claim}"

    def item_description(self, correction: Correction) -> str:
        return correction_summary(correction.note, correction.changes)

    def item_link(self, correction: Correction) -> str:
        return correction.get_absolute_url()

    def item_categories(self, correction: Correction) -> list[str]:
        return sorted(correction.changes)


# How many events an events feed carries, and how much of a claim's text an entry's title shows.
FEED_EVENTS = 50
TITLE_CLAIM_CHARS = 120


@dataclass(frozen=True)
class FeedRequest:
    """What one request of an events feed asks for: its subject (None for every event, a Speaker, a Claim),
    and the request's host (for the entries' tag: URIs) and path. A Feed is one instance serving every
    request, so nothing of a request is kept on it: it travels in this object."""

    subject: Any
    host: str
    path: str

    @classmethod
    def of(cls, request: HttpRequest, subject: Any = None) -> FeedRequest:
        return cls(
            subject=subject,
            host=urlsplit(absolute_url("/", request)).hostname or "localhost",
            path=request.path,
        )


class EventFeed(AtomFeed):
    """/feed/: the latest public events (status changes, corrections, overdue claims), newest first, as an
    Atom feed; SpeakerEventFeed and ClaimEventFeed narrow it. Each entry is one Event (claims.events), its id
    a tag: URI of the event's id (stable, whatever the claim's slug becomes), its link the claim's current
    page at the part the event is about. One query; the narrowed feeds one more, to find their speaker or
    claim.
    """

    item_time_attribute = "created_at"

    title_suffix = "status changes, corrections and overdue claims"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedRequest:
        return FeedRequest.of(request)

    def title(self, obj: FeedRequest) -> str:
        return f"{settings.FACTCHECK_ORGANIZATION_NAME}: {self.title_suffix}"

    def subtitle(self, obj: FeedRequest) -> str:
        return (
            "Every published status change and correction, and every promise or prediction that passed its "
            "due date, newest first."
        )

    def link(self, obj: FeedRequest) -> str:
        return reverse("claims:home")

    def feed_url(self, obj: FeedRequest) -> str:
        return obj.path

    def events(self, obj: FeedRequest) -> EventQuerySet:
        return Event.objects.all()

    def items(self, obj: FeedRequest) -> list[Event]:
        """The newest events (EventQuerySet.newest: one query), each told the host of its tag: URI."""
        events = self.events(obj).newest(FEED_EVENTS)
        for event in events:
            event.feed_host = obj.host
        return events

    def item_title(self, event: Event) -> str:
        claim = event.payload["claim"]
        said = f"{claim['speaker']['name']}: {Truncator(claim['text']).chars(TITLE_CLAIM_CHARS)}"
        if event.type == EventType.CORRECTED:
            return f"Corrected: {said}"
        if event.type == EventType.OVERDUE:
            return f"Overdue: {said}"
        before, after = event.payload["from_status"], event.payload["to_status"]
        if before is None:
            return f"{said} — {after['label']}"
        return f"{said} — {before['label']} → {after['label']}"

    def item_description(self, event: Event) -> str:
        data = event.payload
        if event.type == EventType.CORRECTED:
            return correction_summary(data["correction"]["note"], data["correction"]["changes"])
        if event.type == EventType.OVERDUE:
            due_on = date.fromisoformat(data["overdue"]["due_on"])
            since = date.fromisoformat(data["overdue"]["overdue_since"])
            status = f" Still {data['status']['label']}." if data["status"] else ""
            return (
                f"Due on {date_format(due_on, 'j F Y')}; overdue since {date_format(since, 'j F Y')}.{status}"
            )
        return data["verdict"]["summary"] if data["verdict"] else ""

    def item_link(self, event: Event) -> str:
        data = event.payload
        if event.type == EventType.CORRECTED:
            anchor = f"correction-{data['correction']['id']}"
        elif event.type == EventType.OVERDUE:
            anchor = "due-on"
        else:
            anchor = f"verdict-{data['verdict']['id']}"
        return f"{event.claim.get_absolute_url()}#{anchor}"

    def item_guid(self, event: Event) -> str:
        return f"tag:{event.feed_host},{event.created_at:%Y-%m-%d}:event/{event.pk}"

    def item_categories(self, event: Event) -> list[str]:
        return [event.type]


class SpeakerEventFeed(EventFeed):
    """/speakers/<slug>/feed/: the events of a speaker's claims (the speaker when each happened). A former
    slug answers with a 301 to the current feed, as the speaker's page does; a speaker without published
    claims is a 404."""

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except Http404:
            speaker = speaker_of_old_slug(kwargs["slug"])
            if speaker is None:
                raise
            return redirect_from_old_slug(request, reverse("claims:speaker-feed", args=[speaker.slug]))

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedRequest:
        """The published speaker with this slug (one query), or a 404."""
        speaker = get_object_or_404(Speaker.objects.published().only("slug", "name"), slug=kwargs["slug"])
        return FeedRequest.of(request, speaker)

    def title(self, obj: FeedRequest) -> str:
        return f"{obj.subject.name}: {self.title_suffix} — {settings.FACTCHECK_ORGANIZATION_NAME}"

    def subtitle(self, obj: FeedRequest) -> str:
        return f"The events of {obj.subject.name}'s claims, newest first."

    def link(self, obj: FeedRequest) -> str:
        return obj.subject.get_absolute_url()

    def events(self, obj: FeedRequest) -> EventQuerySet:
        return Event.objects.filter(speaker=obj.subject)


class ClaimEventFeed(EventFeed):
    """/claims/<slug>/feed/: one claim's events. A former slug answers with a 301 to the current feed, as
    the claim's page does; an unpublished claim is a 404."""

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except Http404:
            slug = claim_slug_of_old_slug(kwargs["slug"])
            if slug is None:
                raise
            return redirect_from_old_slug(request, reverse("claims:claim-feed", args=[slug]))

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedRequest:
        """The published claim with this slug (one query), or a 404."""
        claim = get_object_or_404(Claim.objects.published().only("slug", "text"), slug=kwargs["slug"])
        return FeedRequest.of(request, claim)

    def title(self, obj: FeedRequest) -> str:
        text = Truncator(obj.subject.text).chars(TITLE_CLAIM_CHARS)
        return f"{text}: {self.title_suffix} — {settings.FACTCHECK_ORGANIZATION_NAME}"

    def subtitle(self, obj: FeedRequest) -> str:
        return "This claim's status changes, corrections and passed due dates, newest first."

    def link(self, obj: FeedRequest) -> str:
        return obj.subject.get_absolute_url()

    def events(self, obj: FeedRequest) -> EventQuerySet:
        return Event.objects.filter(claim=obj.subject)
