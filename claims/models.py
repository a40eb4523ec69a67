"""The claim-tracking domain: who said what, where, and how each claim stands over time.

Writes that change a claim's status go through claims/services.py; reads go through the QuerySet methods
below, so the admin, the public pages and the API share one query shape.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, connections, models, transaction
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, JSONObject, Now, Substr
from django.db.models.lookups import Exact
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from claims.audit import track_history
from claims.prepared import execute_prepared
from claims.quotes import QuoteInContext, paragraph_around
from claims.site_urls import absolute_url, slug_path

# A source without a publication date sorts as if published on this day: after every dated one.
UNDATED = date.min

# The text search configuration of the claim search column and of every search query against it.
SEARCH_CONFIG = "english"


# Near-spellings (ClaimQuerySet.search): a plain query word of at least this many characters also finds
# the claims of speakers whose name holds a word spelled like it ("Zelenskyy" finds Volodymyr Zelensky),
# by pg_trgm's word similarity at its default threshold (pg_trgm.word_similarity_threshold, 0.6). Shorter
# words are left to the full-text match: "tax" or "the" would be near too many names.
NEAR_SPELLING_MIN_LENGTH = 4
# The most words of one query spelled near names (the rest match by full text only).
NEAR_SPELLING_MAX_WORDS = 5
# Where a claim found only by a near-spelling ranks: below every full-text match (ts_rank is never
# negative), in the order of the name's word similarity (0 to 1): from -2 to -1.
NEAR_SPELLING_RANK_OFFSET = -2.0

# How a quote is compared for exact duplicates (Claim.quote_normalised; the rule of claims.quotes.normalise):
# typographic quotation marks and primes become ' or ", dashes and the minus sign -, every run of white space
# one space, trimmed; no case folding. The white space is listed character by character (those Python's
# str.isspace() knows), so the database's regular expression, whose \s depends on the locale, and Python's
# agree.
QUOTE_MARKS_FROM = "\u2018\u2019\u201a\u201b\u2032\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
QUOTE_MARKS_TO = "'''''" + '"' * 7
DASHES_FROM = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
DASHES_TO = "-" * 7
WHITE_SPACE_RUN = (
    r"[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
)


def normalised_quote_sql(quote: models.Expression) -> models.Func:
    """A normalised quote in SQL (the rule above): translate, regexp_replace and btrim, all IMMUTABLE, so
    the database stores it in a generated column and a unique index holds it.
    """
    marks = models.Func(
        quote,
        Value(QUOTE_MARKS_FROM + DASHES_FROM),
        Value(QUOTE_MARKS_TO + DASHES_TO),
        function="TRANSLATE",
        output_field=models.TextField(),
    )
    spaces = models.Func(
        marks,
        Value(WHITE_SPACE_RUN),
        Value(" "),
        Value("g"),
        function="REGEXP_REPLACE",
        output_field=models.TextField(),
    )
    return models.Func(spaces, function="BTRIM", output_field=models.TextField())


# The constraint that refuses a speaker's quote from a source twice (on Claim.quote_normalised).
QUOTE_UNIQUE_CONSTRAINT = "claims_claim_quote_uniq"

_QUOTE_TRANSLATION = str.maketrans(QUOTE_MARKS_FROM + DASHES_FROM, QUOTE_MARKS_TO + DASHES_TO)
_WHITE_SPACE = re.compile(WHITE_SPACE_RUN)


def _normalise_quote(quote: str) -> str:
    """A normalised quote in Python, as normalised_quote_sql computes it in the database. Runs no query.

    Private until the quotes branch's claims.quotes.normalise lands: the two are one rule, made one at
    merge (tests/test_duplicates.py compares this with the SQL on tricky strings, so they cannot drift).
    """
    return _WHITE_SPACE.sub(" ", quote.translate(_QUOTE_TRANSLATION)).strip(" ")


class Scale(models.TextChoices):
    ACCURACY = "accuracy", "Accuracy (facts)"
    TRACKING = "tracking", "Tracking (promises and predictions)"


class Kind(models.TextChoices):
    FACT = "fact", "Fact"
    PROMISE = "promise", "Promise"
    PREDICTION = "prediction", "Prediction"


# The choices' labels by value, for the get_..._display methods the public pages call for every row.
SCALE_LABELS: dict[str, str] = dict(Scale.choices)
KIND_LABELS: dict[str, str] = dict(Kind.choices)


class Fidelity(models.TextChoices):
    """How a claim's quote stands to the source's words. Only a verbatim quote is checked against the
    archived text (claims.services.save_claim) and shown as a quotation."""

    VERBATIM = "verbatim", "Verbatim: the speaker's exact words, as the source quotes them"
    PARAPHRASE = "paraphrase", "Paraphrase: the speaker's meaning, in other words"
    REPORTED = "reported", "Reported: the source's account of what was said (indirect speech)"


# How much of the archived text either side of a verified quote a claim page reads (in SQL, with the claim):
# more than claims.quotes.QUOTE_CONTEXT_CHARS, so the paragraph is cut at a sentence end, never by the window.
QUOTE_WINDOW_CHARS = 1000


def slug_for(text: str, max_length: int = 200) -> str:
    """The slug for a title or a claim's text: Django's slugify, except that punctuation between digits
    becomes a hyphen, so "1.5 million" is "1-5-million", not "15-million". The admin's script
    (claims/static/claims/admin/slug.js) prepopulates slugs by the same rule as the editor types.
    """
    slug = slugify(_PUNCTUATION_BETWEEN_DIGITS.sub("-", text))
    return slug[:max_length].rstrip("-")


# One or more characters that are not letters, digits, "_", "-" or spaces, with a digit either side.
_PUNCTUATION_BETWEEN_DIGITS = re.compile(r"(?<=\d)[^\w\s-]+(?=\d)")


def scale_for_kind(kind: str) -> str:
    """The rating scale a claim of this kind is judged on."""
    return Scale.ACCURACY if kind == Kind.FACT else Scale.TRACKING


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


def version_field() -> models.PositiveIntegerField:
    """A row's edit counter, for optimistic locking: a form carries the version it was opened at, and a save
    from a form opened before someone else's save is refused (claims.services.stale_errors).

    Maintained by the database, never by Python: a BEFORE UPDATE trigger (migration 0015) sets it to the old
    version + 1 whenever a column an editor can see changes, so every writer (the admin, the services, a
    queryset update, raw SQL) moves it, and nobody can set it back.
    """
    return models.PositiveIntegerField(
        default=1,
        db_default=1,  # a raw INSERT (the benchmark's generate_claims) gets it too
        editable=False,
        help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
    )


class SpeakerQuerySet(models.QuerySet["Speaker"]):
    def get_by_natural_key(self, slug: str) -> Speaker:
        return self.get(slug=slug)

    def named_like(self, text: str) -> SpeakerQuerySet:
        """Speakers whose name contains `text` or holds a word spelled like it (pg_trgm's word similarity:
        "Zelenskyy" finds Volodymyr Zelensky). For the admin's speaker search and autocomplete.

        No extra query; both conditions are served by the trigram GIN index on the name.
        """
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(name__icontains=text) | Q(name__trigram_word_similar=text))

    def published(self) -> SpeakerQuerySet:
        """Speakers with at least one published claim. One query with an EXISTS."""
        return self.filter(Exists(Claim.objects.published().filter(speaker=OuterRef("pk"))))

    def with_claim_counts(self) -> SpeakerQuerySet:
        """Annotate claim_count: how many published claims each speaker made.

        No extra query: a subquery per speaker row summing their rows of the tally the database keeps
        (SpeakerTally, on claims_speaker_tally_idx): a row per status once folded, however many claims.
        """
        total = (
            SpeakerTally.objects.filter(speaker=OuterRef("pk"))
            .order_by()
            .values("speaker")
            .annotate(n=Sum("delta"))
            .values("n")
        )
        return self.annotate(claim_count=Coalesce(models.Subquery(total), 0))


@track_history()
class Speaker(TimestampedModel):
    """Who made a claim: a person or an organisation."""

    name = models.CharField(max_length=200, help_text="As readers know them: “Donald Trump”.")
    slug = models.SlugField(
        max_length=200,
        unique=True,
        help_text="The end of the speaker's address: “donald-trump” for /speakers/donald-trump/. Lowercase "
        "letters, digits and hyphens.",
    )
    role = models.CharField(max_length=200, blank=True, help_text="Their role when quoted: “US President”.")
    description = models.TextField(blank=True, help_text="A short public note on who this is.")
    url = models.URLField(max_length=500, blank=True, help_text="An official page or profile.")
    version = version_field()

    objects = SpeakerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="claims_speaker_name_idx"),
            # The admin's speaker search and autocomplete: substrings and near-spellings (named_like).
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="claims_speaker_name_trgm_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(slug=""),
                name="claims_speaker_slug_not_empty",
                violation_error_message="A speaker needs a slug for their address.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_path("claims:speaker-detail", self.slug)

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class SourceQuerySet(models.QuerySet["Source"]):
    def get_by_natural_key(self, url: str) -> Source:
        return self.get(url=url)

    def published(self) -> SourceQuerySet:
        """Sources the public may see: where a published claim appeared, or cited by a published verdict.

        One query with two EXISTS.
        """
        return self.filter(
            Exists(Claim.objects.published().filter(source=OuterRef("pk")))
            | Exists(Evidence.objects.published().filter(source=OuterRef("pk")))
        )

    def with_archive(self) -> SourceQuerySet:
        """Annotate archived_at and archived_sha256: the capture time and hash of the source's latest
        snapshot (None without one), never its text. Two subqueries in the same query, on the
        claims_snapshot_latest_idx index."""
        latest = SourceSnapshot.objects.filter(source=OuterRef("pk")).latest_first()
        return self.annotate(
            archived_at=models.Subquery(latest.values("captured_at")[:1]),
            archived_sha256=models.Subquery(latest.values("sha256")[:1]),
        )


@track_history()
class Source(TimestampedModel):
    """A document where a claim appeared or that is cited as evidence.

    Its archived text is kept in snapshots (SourceSnapshot), one per capture; the latest is its current text.
    """

    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=200, blank=True, help_text="The outlet: “Express & Star”.")
    authors = models.CharField(max_length=500, blank=True, help_text="As credited, comma-separated.")
    url = models.URLField(max_length=1000, unique=True, help_text="Where the document was published.")
    published_on = models.DateField(null=True, blank=True, db_index=True)
    version = version_field()

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["-published_on", "-id"]
        indexes = [
            models.Index(fields=["-published_on", "-id"], name="claims_source_published_idx"),
            # The public list's order (claims.pagination.SOURCES): newest first, undated last, as one
            # row value of two non-null columns a keyset cursor can compare.
            models.Index(
                Coalesce("published_on", Value(UNDATED)).desc(),
                F("id").desc(),
                name="claims_source_dated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.publisher})" if self.publisher else self.title

    def natural_key(self) -> tuple[str]:
        return (self.url,)

    def latest_snapshot(self) -> SourceSnapshot | None:
        """The source's current archived text: its latest capture, or None. One query."""
        return self.snapshots.latest_first().first()


class SourceSnapshotQuerySet(models.QuerySet["SourceSnapshot"]):
    def latest_first(self) -> SourceSnapshotQuerySet:
        """Latest capture first (ties: the later row), on the claims_snapshot_latest_idx index."""
        return self.order_by("-captured_at", "-id")

    def without_text(self) -> SourceSnapshotQuerySet:
        """Everything but the text, which can be long: for lists. No extra query."""
        return self.defer("text")


class SHA256Hex(models.Func):
    """The SHA-256 of a text's UTF-8 bytes, as 64 lowercase hex digits, computed by PostgreSQL.

    Not a generated column: convert_to() is only STABLE in PostgreSQL, which a generated column refuses. So
    SourceSnapshot.save() sets the hash in Python and a CHECK makes the database recompute and compare it.
    """

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = models.CharField(max_length=64)


def sha256_hex(text: str) -> str:
    """The SHA-256 of a text's UTF-8 bytes, as 64 lowercase hex digits (what SHA256Hex computes in SQL)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@track_history()
class SourceSnapshot(models.Model):
    """A source's text as captured at one time, exactly as received: what quotes are checked against.

    Never edited: a database trigger refuses any change of its text, capture time or source, and the
    deletion of a snapshot whose source a published claim or verdict relies on (a claim whose quote was
    verified against it holds it too, by a foreign key). A new capture is a new snapshot; the latest is the
    source's current text. The text is for staff: no public page or API response includes it.
    """

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="snapshots")
    text = models.TextField(help_text="The document's text exactly as received.")
    sha256 = models.CharField(
        max_length=64,
        editable=False,
        verbose_name="SHA-256",
        help_text="The SHA-256 of the text's UTF-8 bytes; the database checks it against the text.",
    )
    captured_at = models.DateTimeField(db_default=Now(), help_text="When the text was captured (archived).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = SourceSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-captured_at", "-id"]
        verbose_name = "archived text"
        verbose_name_plural = "archived texts"
        indexes = [
            # A source's latest capture (its current text), and the admin's list of every capture.
            models.Index(fields=["source", "-captured_at", "-id"], name="claims_snapshot_latest_idx"),
            models.Index(fields=["-captured_at", "-id"], name="claims_snapshot_captured_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text=""),
                name="claims_snapshot_text_not_empty",
                violation_error_message="An archived text cannot be empty.",
            ),
            models.CheckConstraint(
                condition=Q(sha256=SHA256Hex("text")),
                name="claims_snapshot_sha256_of_text",
                violation_error_message="The SHA-256 does not match the text.",
            ),
            # The target of the composite foreign key that keeps a claim's verified quote in its own source.
            models.UniqueConstraint(fields=["id", "source"], name="claims_snapshot_id_source_uniq"),
        ]

    def __str__(self) -> str:
        when = f"{self.captured_at:%Y-%m-%d %H:%M %Z}" if isinstance(self.captured_at, datetime) else "now"
        return f"Captured {when}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert the snapshot with its text's hash (the database checks it). Snapshots are never updated."""
        self.sha256 = sha256_hex(self.text)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuses a capture time outside the years 1 to 9999 in UTC. An editor enters it in the site's time
        zone and PostgreSQL stores it in UTC, where it holds years Python cannot read back (year 0 for the
        first hours of year 1 east of Greenwich, 10000 for the last of 9999 west of it): the snapshot could
        no longer be shown. Runs no query.
        """
        if isinstance(self.captured_at, datetime):
            try:
                self.captured_at.astimezone(UTC)
            except OverflowError:
                raise ValidationError(
                    {"captured_at": "Enter a time between the years 1 and 9999 in UTC."}
                ) from None


class StatusQuerySet(models.QuerySet["Status"]):
    def get_by_natural_key(self, slug: str) -> Status:
        return self.get(slug=slug)

    def with_claim_counts(self, speaker: Speaker | None = None) -> StatusQuerySet:
        """Annotate claim_count: how many published claims (of `speaker`, default: of everyone) have each
        status.

        No extra query: a subquery per status row summing its rows of the tally the database keeps at every
        write (StatusTally, or SpeakerTally for a speaker): a row or so per status once folded, so the count
        costs the same at a million claims as at ten, and is right as soon as a publication commits.
        """
        if speaker is None:
            tally = StatusTally.objects.filter(status=OuterRef("pk"))
        else:
            tally = SpeakerTally.objects.filter(speaker=speaker, status=OuterRef("pk"))
        total = tally.order_by().values("status").annotate(n=Sum("delta")).values("n")
        return self.annotate(claim_count=Coalesce(models.Subquery(total), 0))


@track_history()
class Status(models.Model):
    """One value on a rating scale. Position 1 is the worst; 0 means not rated on the scale (Unverified)."""

    scale = models.CharField(
        max_length=20, choices=Scale, help_text="Facts use accuracy; the rest, tracking."
    )
    slug = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=50)
    position = models.PositiveSmallIntegerField(
        help_text="Place on the scale: 1 is the worst, higher is better; 0 for a status that rates nothing "
        "(Unverified), which then carries no numeric rating."
    )
    colour = models.CharField(
        max_length=7, default="#6b7280", help_text="A hex colour for badges, such as #15803d."
    )
    description = models.TextField(blank=True, help_text="What this status means, for readers.")
    is_open = models.BooleanField(
        "open",
        default=False,
        help_text="A promise or prediction with this status is still unresolved (Open, In progress): once its "
        "due date has passed it is overdue, until an editor records a verdict that settles it.",
    )
    version = version_field()

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["scale", "-position", "id"]
        verbose_name_plural = "statuses"
        indexes = [models.Index(fields=["scale", "-position", "id"], name="claims_status_order_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(scale__in=Scale.values), name="claims_status_scale_valid"),
            models.CheckConstraint(
                condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"),
                name="claims_status_colour_hex",
                violation_error_message="A colour is # and six hex digits, such as #15803d.",
            ),
            # The target of the composite foreign keys that keep verdicts and claims on their scale.
            models.UniqueConstraint(fields=["id", "scale"], name="claims_status_id_scale_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.scale})"

    def get_scale_display(self) -> str:
        """The scale's label, as Django's get_scale_display gives it, from a dict made once (Django's makes the
        choices' dict again at every call: the status menus call it for every status)."""
        return SCALE_LABELS.get(self.scale, self.scale)

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


def _scale_bounds(prefix: str) -> dict[str, models.Expression]:
    """Subqueries for the lowest and highest rated position on the scale of the status at prefix."""
    bounds = Status.objects.filter(scale=OuterRef(f"{prefix}scale"), position__gt=0).values("scale")
    return {
        f"{prefix}worst_position": models.Subquery(bounds.annotate(m=models.Min("position")).values("m")[:1]),
        f"{prefix}best_position": models.Subquery(bounds.annotate(m=models.Max("position")).values("m")[:1]),
    }


# A websearch query's terms: a "quoted phrase" (perhaps unclosed) or a run of other characters.
_WEBSEARCH_TERM = re.compile(r'"[^"]*"?|[^\s"]+')


def _near_spelling(text: str) -> tuple[Q, models.Expression] | None:
    """For ClaimQuerySet.search: the condition a claim found by a near-spelling meets, and its score (the
    best word similarity of a near-spelled word to the speaker's name); None when the query has no word to
    spell (only short words, phrases, -words) or uses OR, whose grouping the condition would not keep.

    The condition: every plain word matches the claim's full text (or is a stop word, which full text
    ignores) or, when long enough, the speaker's name by word similarity (`speaker_name %> word`, on its
    trigram GIN index); the phrases and -words match the full text as they would have.
    """
    terms = _WEBSEARCH_TERM.findall(text)
    if any(term.lower() == "or" for term in terms):
        return None
    plain = [term for term in terms if not term.startswith(('"', "-"))]
    # Each near-spelled word is one more trigram index scan: a long query spells only its first few.
    near = [word for word in plain if len(word) >= NEAR_SPELLING_MIN_LENGTH][:NEAR_SPELLING_MAX_WORDS]
    if not near:
        return None
    # At least one name is near a word: the arm of the match the trigram index serves.
    condition = Q()
    for word in near:
        condition |= Q(speaker_name__trigram_word_similar=word)
    for word in plain:
        words = SearchQuery(word, search_type="websearch", config=SEARCH_CONFIG)
        stop_word = Exact(models.Func(words, function="NUMNODE", output_field=models.IntegerField()), 0)
        matched = Q(search=words) | Q(stop_word)
        if word in near:
            matched |= Q(speaker_name__trigram_word_similar=word)
        condition &= matched
    rest = " ".join(term for term in terms if term.startswith(('"', "-")))
    if rest:
        condition &= Q(search=SearchQuery(rest, search_type="websearch", config=SEARCH_CONFIG))
    similarities = [TrigramWordSimilarity(word, "speaker_name") for word in near]
    return condition, Greatest(*similarities) if len(similarities) > 1 else similarities[0]


# The status's fields a claim as of a past day carries (ClaimQuerySet.as_of): what pages and the API show.
AS_OF_STATUS_FIELDS = ("id", "scale", "slug", "label", "position", "colour", "description", "is_open")

# The kinds that are followed over time, with a due date and the tracking scale.
TRACKED_KINDS = (Kind.PROMISE.value, Kind.PREDICTION.value)


def overdue_condition(today: date, prefix: str = "", *, status: str = "status") -> Q:
    """The rule of overdue, as a condition on claims (at `prefix`): a promise or prediction whose due date is
    before `today` while its status is still open (Status.is_open). Computed from the day asked about, never
    stored, so it cannot go stale; nothing changes a status by itself.

    `status` names where the claim's status is read: the current one, or the status a claim had at the end
    of a past day (ClaimQuerySet.as_of's `as_of_status`, whose JSON holds the same is_open).
    """
    return Q(
        **{
            f"{prefix}kind__in": TRACKED_KINDS,
            f"{prefix}due_on__lt": today,
            f"{prefix}{status}__is_open": True,
        }
    )


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in the site's time zone: what was published "by the end of" the day
    is what was published before it."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))


class CountedRows(models.Subquery):
    """How many rows a (sliced) queryset has, as a scalar subquery: a count that stops at the slice."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = models.IntegerField()


class AsOfIterable(models.query.ModelIterable):
    """Claims of ClaimQuerySet.as_of: each gets the status and status_changed_at it had at the end of the
    day asked about, from the row's own annotations (no query)."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        for claim in super().__iter__():
            status = claim.as_of_status
            if status is not None:
                claim.status = Status(**status)
                claim.status_changed_at = claim.as_of_changed_at
            yield claim


class AsOfRowIterable(models.query.ValuesIterable):
    """AsOfIterable for ClaimQuerySet.as_rows(): each row's status columns (status__<name>) and
    status_changed_at are those it had at the end of the day asked about (no query)."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        for row in super().__iter__():
            status = row["as_of_status"]
            if status is not None:
                for name in CLAIM_ROW_STATUS_FIELDS:
                    row[f"status__{name}"] = status[name]
                row["status_changed_at"] = row["as_of_changed_at"]
            yield row


# A claim as a plain row (ClaimQuerySet.as_rows): its own columns, and its speaker's, source's and status's
# that the API shows (status__is_open too: overdue reads it). Read as dicts, not model instances.
CLAIM_ROW_STATUS_FIELDS = ("slug", "label", "scale", "position", "is_open")
CLAIM_ROW_FIELDS = (
    "id",
    "slug",
    "text",
    "quote",
    "fidelity",
    "quote_snapshot_id",
    "quote_start",
    "quote_end",
    "kind",
    "said_on",
    "due_on",
    "status_changed_at",
    "created_at",
    "updated_at",
    "version",
    "speaker__id",
    "speaker__slug",
    "speaker__name",
    "speaker__role",
    "source__id",
    "source__title",
    "source__publisher",
    "source__url",
    "source__published_on",
    *(f"status__{name}" for name in CLAIM_ROW_STATUS_FIELDS),
)
# What a row of a page's list of claims reads of the claim (ClaimQuerySet.for_claim_rows): what it shows, what
# the overdue rule reads, and the list's keys (status_changed_at, id).
CLAIM_ROW_COLUMNS = ("slug", "text", "kind", "said_on", "due_on", "speaker", "status", "status_changed_at")


class ClaimQuerySet(models.QuerySet["Claim"]):
    def overdue(self, today: date | None = None) -> ClaimQuerySet:
        """Published claims overdue on `today` (default: the site's today): see overdue_condition."""
        return self.filter(overdue_condition(today or timezone.localdate()))

    def longest_overdue(self, today: date, *, count_up_to: int) -> ClaimQuerySet:
        """Claims overdue on `today`, the longest overdue (earliest due) first, each annotated with
        `overdue_total`: how many claims are overdue, counted up to `count_up_to` (more reads as that).

        Slice it: one query, the rows and the count, both on claims_claim_due_idx (due_on, id), which holds
        promises and predictions only: the rows are its first matches in order, and the count (an
        uncorrelated subquery PostgreSQL runs once) stops at its limit. Facts, however many, are never read;
        at worst the past-due promises and predictions are (2 ms for 17,000 of them among 200,000 claims).
        """
        overdue = self.overdue(today)
        total = CountedRows(overdue.order_by().values("pk")[:count_up_to])
        return overdue.annotate(overdue_total=total).order_by("due_on", "id")

    def as_of(self, day: date) -> ClaimQuerySet:
        """Claims as they stood at the end of `day` (site time zone): each one's status and status_changed_at
        are those of its latest verdict published by then, and claims with none are left out.

        The same one query: two subqueries a row, each one probe of claims_verdict_claim_idx (claim,
        -published_at, -id), annotate `as_of_changed_at`, `as_of_status_id` and `as_of_status` (the status
        as JSON, is_open included, so overdue_condition(..., status="as_of_status") reads it); the rows come
        back with those as their status (AsOfIterable). Filter and order by the annotations, not the
        columns, which hold today's status. Combine with with_timeline(before=end_of_day(day)).
        """
        latest = (
            Verdict.objects.published()
            .filter(claim=OuterRef("pk"), published_at__lt=end_of_day(day))
            .order_by("-published_at", "-id")
        )
        status = JSONObject(**{name: f"status__{name}" for name in AS_OF_STATUS_FIELDS})
        claims = self.annotate(
            as_of_changed_at=models.Subquery(latest.values("published_at")[:1]),
            as_of_status_id=models.Subquery(latest.values("status_id")[:1]),
            as_of_status=models.Subquery(latest.values(json=status)[:1]),
        ).filter(as_of_changed_at__isnull=False)
        claims._iterable_class = (
            AsOfRowIterable if issubclass(self._iterable_class, models.query.ValuesIterable) else AsOfIterable
        )
        return claims

    @property
    def is_as_of(self) -> bool:
        """Whether these claims are as of a past day (as_of): their order and filters read its annotations."""
        return "as_of_changed_at" in self.query.annotations

    def get_by_natural_key(self, slug: str) -> Claim:
        return self.get(slug=slug)

    def published(self) -> ClaimQuerySet:
        """Claims the public may see: those with a published verdict, hence a status. No extra query."""
        return self.filter(status__isnull=False)

    def for_claim_rows(self) -> ClaimQuerySet:
        """A page's rows of claims (claims/includes/claim_rows.html: the claim list, a speaker's page): what
        a row shows and the overdue rule reads, speaker and status joined in: a page of claims is one query.
        Only those columns, so that a row costs three small model instances, not four whole ones (about a
        third of a page's query time in Python). Unordered, as for_listing().
        """
        return self.select_related("speaker", "status").only(
            *CLAIM_ROW_COLUMNS,
            "speaker__slug",
            "speaker__name",
            "status__label",
            "status__colour",
            "status__is_open",
        )

    def for_listing(self) -> ClaimQuerySet:
        """Speaker, source and status joined in: a page of claims is one query.

        Reads only what a list shows: not the claim's `search` vector (a list never shows it; search()
        compares against it in SQL), nor its normalised quote (for the duplicate check); a source's archived
        text is in its snapshots, never joined here. Unordered: the paginator (claims.pagination) orders the
        list by its keys.
        """
        return self.select_related("speaker", "source", "status").defer("search", "quote_normalised")

    def as_rows(self) -> ClaimQuerySet:
        """The claims as plain rows: dicts of CLAIM_ROW_FIELDS (speaker, source and status joined: one query a
        page, as for_listing()) and of every annotation made so far (a search's rank, as_of's, a detail's
        corrections and quote window), never model instances. Call it last, after the filters (a search
        defers a column, which a values() queryset refuses); as of a past day, each row carries its status
        then (AsOfRowIterable).

        What the API reads (claims.api.views): a row costs a tuple and a dict, where a model instance with
        three related instances (and as of a day, a fourth) costs ten times that, and the columns read are
        exactly those the JSON shows.
        """
        rows = self.values(*CLAIM_ROW_FIELDS, *self.query.annotations)
        if self.is_as_of:
            rows._iterable_class = AsOfRowIterable
        return rows

    def search(self, text: str) -> ClaimQuerySet:
        """Full-text match over text, quote and speaker name (websearch syntax: quotes, OR, -word), and
        near-spellings of speakers' names: a plain word of the query (not in quotes, not -word, in a query
        without OR) of NEAR_SPELLING_MIN_LENGTH characters or more also matches a speaker's name holding a
        word spelled like it, so "Zelenskyy" finds Volodymyr Zelensky's claims. Every plain word must still
        match, by full text or by the name; claims found only by a near-spelling rank below the rest.

        One query: the GIN index on the stored `search` column and the trigram GIN index on speaker_name,
        combined by the planner; the `search` column is never read into Python. Annotates `rank` for
        ordering by relevance. The rank is cast from real to double precision: a real reaches Python
        rounded, so a cursor holding it would not compare equal to the row it came from.
        """
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        rank = Cast(SearchRank(F("search"), query), models.FloatField())
        near = _near_spelling(text)
        if near is None:
            return self.filter(search=query).annotate(rank=rank).defer("search")
        matches, similarity = near
        # A claim found only by a near-spelling ranks below every full-text match (see
        # NEAR_SPELLING_RANK_OFFSET); the rank stays one double precision value for the cursor.
        rank = Case(
            When(search=query, then=rank),
            default=Cast(similarity, models.FloatField()) + Value(NEAR_SPELLING_RANK_OFFSET),
            output_field=models.FloatField(),
        )
        return self.filter(Q(search=query) | matches).annotate(rank=rank).defer("search")

    def similar_to(
        self, *, text: str, quote: str = "", speaker_id: int | None = None, exclude_pk: int | None = None
    ) -> ClaimQuerySet:
        """Claims whose text is similar to `text` or whose quote is similar to `quote`: pg_trgm's
        similarity at or above its threshold (pg_trgm.similarity_threshold, 0.3). Annotates `similarity`
        (the higher of the two, 0 to 1) and `same_speaker`; ordered the same speaker's claims first, then
        the most similar. Speaker and status joined in; slice it.

        One query, on the trigram GIN indexes of text and quote.
        """
        text, quote = text.strip(), quote.strip()
        matches, scores = Q(), []
        if text:
            matches |= Q(text__trigram_similar=text)
            scores.append(TrigramSimilarity("text", text))
        if quote:
            matches |= Q(quote__trigram_similar=quote)
            scores.append(TrigramSimilarity("quote", quote))
        if not scores:
            return self.none()
        score = Greatest(*scores) if len(scores) > 1 else scores[0]
        same_speaker = (
            Case(When(speaker_id=speaker_id, then=Value(True)), default=Value(False))
            if speaker_id is not None
            else Value(False)
        )
        claims = self.filter(matches)
        if exclude_pk is not None:
            claims = claims.exclude(pk=exclude_pk)
        return (
            claims.select_related("speaker", "status")
            .defer("search", "quote_normalised")
            .annotate(
                similarity=Cast(score, models.FloatField()),
                same_speaker=ExpressionWrapper(same_speaker, output_field=models.BooleanField()),
            )
            .order_by("-same_speaker", "-similarity", "-id")
        )

    def with_timeline(self, *, include_drafts: bool = False, before: datetime | None = None) -> ClaimQuerySet:
        """Prefetch the claim's verdicts, newest first, with status and evidence; with `before`, only those
        published before that time (the timeline as of a past day).

        One extra query for all of them: each verdict's evidence comes as a JSON array from a subquery.
        """
        verdicts = Verdict.objects.all() if include_drafts else Verdict.objects.published()
        if before is not None:
            verdicts = verdicts.filter(published_at__lt=before)
        return self.prefetch_related(
            Prefetch("verdicts", queryset=verdicts.for_timeline(), to_attr="timeline")
        )

    def with_corrections(self, *, before: datetime | None = None) -> ClaimQuerySet:
        """Annotate `correction_list`: the claim's corrections, newest first, as a list of {id, note, changes,
        published_at} from one subquery (the claims_correction_claim_idx index): no extra query. With
        `before`, only those published before that time (as of a past day).
        """
        corrections = Correction.objects.filter(claim=OuterRef("pk"))
        if before is not None:
            corrections = corrections.filter(published_at__lt=before)
        corrections = corrections.order_by("-id").values(
            json=JSONObject(id="id", note="note", changes="changes", published_at="published_at")
        )
        return self.annotate(correction_list=ArraySubquery(corrections))

    def with_quote_context(self) -> ClaimQuerySet:
        """Annotate quote_window and quote_window_start: a verified quote's snapshot text from
        QUOTE_WINDOW_CHARS before the quote to as far after it (and the window's offset in the text), read in
        SQL with the claim, so that neither the page nor the API ever reads the whole article; and
        quote_captured_at, when that snapshot was captured. None for a quote not verified. A LEFT JOIN in the
        same query; Claim.quote_context() cuts the paragraph from the window.
        """
        start = Greatest(F("quote_start") - QUOTE_WINDOW_CHARS, Value(0))
        length = F("quote_end") - start + QUOTE_WINDOW_CHARS
        return self.annotate(
            quote_window_start=start,
            quote_window=Substr(F("quote_snapshot__text"), start + 1, length),
            quote_captured_at=F("quote_snapshot__captured_at"),
        )

    def with_scale_bounds(self) -> ClaimQuerySet:
        """Annotate status__worst_position / status__best_position (ClaimReview's ratings), in the same query."""
        return self.annotate(**_scale_bounds("status__"))

    def for_export(self) -> ClaimQuerySet:
        """for_listing(), and `verdict_summary`: the summary of the claim's latest published verdict (the one
        that gave it its status), a subquery per row on claims_verdict_claim_idx, in the same query. The
        exports (claims.exports) read it in id-ordered chunks, one query each.
        """
        latest = (
            Verdict.objects.published()
            .filter(claim=OuterRef("pk"))
            .order_by("-published_at", "-id")
            .values("summary")[:1]
        )
        return self.for_listing().annotate(verdict_summary=models.Subquery(latest))


@track_history(exclude=["search", "speaker_name", "quote_normalised"], not_an_edit_alone=["updated_at"])
class Claim(TimestampedModel):
    """One checkable statement by one speaker, as it appeared in one source."""

    speaker = models.ForeignKey(Speaker, on_delete=models.PROTECT, related_name="claims")
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="claims", help_text="Where the claim appeared."
    )
    slug = models.SlugField(
        max_length=200,
        unique=True,
        help_text="The end of the claim's address: “talks-begin-immediately” for "
        "/claims/talks-begin-immediately/. Lowercase letters, digits and hyphens.",
    )
    text = models.TextField(help_text="The statement in the checker's neutral words: one sentence to rate.")
    quote = models.TextField(
        blank=True,
        help_text="The speaker's words as the source gives them; empty when the claim has no quote. A verbatim "
        "quote must be found in the source's archived text (quotation marks, dashes and spacing may differ).",
    )
    fidelity = models.CharField(
        max_length=12,
        choices=Fidelity,
        blank=True,
        default="",
        help_text="How the quote stands to the source: verbatim (checked against the archived text), a "
        "paraphrase or reported speech (not checked). Empty when there is no quote.",
    )
    # Where a verbatim quote was found: the snapshot checked and the offsets into its text. Set by
    # claims.services.save_claim only, all three or none.
    quote_snapshot = models.ForeignKey(
        "SourceSnapshot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="quoted_by",
        help_text="The archived text the verbatim quote was found in.",
    )
    quote_start = models.PositiveIntegerField(null=True, blank=True, editable=False)
    quote_end = models.PositiveIntegerField(null=True, blank=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.FACT, db_index=True)
    said_on = models.DateField(db_index=True, help_text="When the claim was made.")
    due_on = models.DateField(
        null=True,
        blank=True,
        help_text="Promises and predictions: by when it should come true. Not before the day it was said.",
    )
    # Derived data, maintained by the database, never by Python:
    # - scale follows kind, and is the half of the composite foreign key that keeps status on the scale;
    # - speaker_name is copied from the speaker by a trigger, so search covers it from one row;
    # - search is the stored tsvector over text, quote and speaker name.
    scale = models.GeneratedField(
        expression=Case(
            When(kind=Kind.FACT, then=Value(Scale.ACCURACY.value)), default=Value(Scale.TRACKING.value)
        ),
        output_field=models.CharField(max_length=20, choices=Scale),
        db_persist=True,
    )
    speaker_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    search = models.GeneratedField(
        expression=SearchVector("text", weight="A", config=SEARCH_CONFIG)
        + SearchVector("quote", weight="B", config=SEARCH_CONFIG)
        + SearchVector("speaker_name", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # The current status: the latest published verdict's, set only by claims.services.
    status = models.ForeignKey(
        Status, on_delete=models.PROTECT, null=True, blank=True, related_name="claims", editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The quote as compared for exact duplicates (normalised_quote_sql), computed by the database.
    quote_normalised = models.GeneratedField(
        expression=normalised_quote_sql(F("quote")),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name="normalised quote",
    )
    version = version_field()

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-status_changed_at", "-id"]
        indexes = [
            models.Index(fields=["-status_changed_at", "-id"], name="claims_claim_latest_idx"),
            models.Index(fields=["speaker", "-status_changed_at", "-id"], name="claims_claim_speaker_idx"),
            models.Index(fields=["status", "-status_changed_at", "-id"], name="claims_claim_status_idx"),
            # Overdue and due-date filters: only promises and predictions have a due date.
            models.Index(
                fields=["due_on", "id"], condition=Q(due_on__isnull=False), name="claims_claim_due_idx"
            ),
            GinIndex(fields=["search"], name="claims_claim_search_idx"),
            # Similar claims (similar_to) by text and quote; near-spellings of names (search).
            GinIndex(fields=["text"], opclasses=["gin_trgm_ops"], name="claims_claim_text_trgm_idx"),
            GinIndex(fields=["quote"], opclasses=["gin_trgm_ops"], name="claims_claim_quote_trgm_idx"),
            GinIndex(
                fields=["speaker_name"], opclasses=["gin_trgm_ops"], name="claims_claim_speaker_trgm_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="claims_claim_kind_valid"),
            models.CheckConstraint(
                condition=~Q(slug=""),
                name="claims_claim_slug_not_empty",
                violation_error_message="A claim needs a slug for its address.",
            ),
            models.CheckConstraint(
                condition=Q(due_on__isnull=True) | Q(due_on__gte=F("said_on")),
                name="claims_claim_due_after_said",
                violation_error_message="The due date cannot be before the day the claim was said.",
            ),
            models.CheckConstraint(
                condition=Q(due_on__isnull=True) | ~Q(kind=Kind.FACT),
                name="claims_claim_due_only_for_tracked",
                violation_error_message="Only promises and predictions have a due date; clear it for a fact.",
            ),
            models.CheckConstraint(
                condition=Q(status__isnull=True, status_changed_at__isnull=True)
                | Q(status__isnull=False, status_changed_at__isnull=False),
                name="claims_claim_status_has_time",
            ),
            models.UniqueConstraint(fields=["id", "scale"], name="claims_claim_id_scale_uniq"),
            # One claim per quote of a speaker in a source (claims.services.save_claim says which claim
            # has it); paraphrases, with no quote, are not compared.
            models.UniqueConstraint(
                fields=["speaker", "source", "quote_normalised"],
                condition=~Q(quote_normalised=""),
                name=QUOTE_UNIQUE_CONSTRAINT,
                violation_error_message="This speaker's quote from this source is already a claim.",
            ),
            models.CheckConstraint(
                condition=Q(quote="", fidelity="") | (~Q(quote="") & Q(fidelity__in=Fidelity.values)),
                name="claims_claim_fidelity_with_quote",
                violation_error_message="A quote needs its fidelity (verbatim, paraphrase or reported), and "
                "only a quote has one.",
            ),
            models.CheckConstraint(
                condition=Q(quote_snapshot__isnull=True, quote_start__isnull=True, quote_end__isnull=True)
                | Q(
                    quote_snapshot__isnull=False,
                    quote_start__gte=0,
                    quote_end__gt=F("quote_start"),
                    fidelity=Fidelity.VERBATIM,
                ),
                name="claims_claim_quote_offsets",
                violation_error_message="A verified quote has its snapshot and both offsets (start before "
                "end), and only a verbatim quote is verified.",
            ),
        ]

    def __str__(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:79] + "…"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert, or update the claim's own columns: never status or status_changed_at.

        Those two are the latest published verdict's, written by claims.services alone (with a queryset
        update under the claim's row lock). A copy read before a publication would otherwise write the
        old status back; the database refuses such a write too (migration 0007).
        """
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = CLAIM_EDITABLE_COLUMNS
        elif kwargs.get("update_fields") is not None and set(kwargs["update_fields"]) & STATUS_COLUMNS:
            raise ValueError("A claim's status is written by claims.services only.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return slug_path("claims:claim-detail", self.slug)

    def get_kind_display(self) -> str:
        """The kind's label, as Django's get_kind_display gives it, from a dict made once (Django's makes the
        choices' dict again at every call, a tenth of a row's rendering on a list of claims)."""
        return KIND_LABELS.get(self.kind, self.kind)

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def is_published(self) -> bool:
        """Whether the public may see this claim: the rule of ClaimQuerySet.published(), for one claim."""
        return self.status_id is not None

    def public_url(self, request: HttpRequest | None = None) -> str:
        """The claim page's absolute URL (ClaimReview's url, the API's html_url)."""
        return absolute_url(self.get_absolute_url(), request)

    def overdue_since(self, today: date | None = None) -> date | None:
        """The first day this claim was overdue (the day after its due date), or None when it is not overdue
        on `today` (default: the site's today). Reads the joined status: no query when it is selected."""
        if self.status_id is None:
            return None
        return overdue_since(
            kind=self.kind,
            due_on=self.due_on,
            is_open=self.status.is_open,
            today=today or timezone.localdate(),
        )

    @property
    def expected_scale(self) -> str:
        """The scale of this claim's kind, also before the database has computed `scale`."""
        return scale_for_kind(self.kind)

    @property
    def quote_verified(self) -> bool:
        """Whether the quote is verbatim and was found in an archived text of its source (save_claim)."""
        return self.fidelity == Fidelity.VERBATIM and self.quote_snapshot_id is not None

    def quote_context(self) -> QuoteInContext | None:
        """The verified quote in its paragraph, from ClaimQuerySet.with_quote_context's window; None for a
        quote not verified. Runs no query."""
        window = getattr(self, "quote_window", None)
        if not self.quote_verified or window is None:
            return None
        return quote_in_window(window, self.quote_window_start, start=self.quote_start, end=self.quote_end)


def overdue_since(*, kind: str, due_on: date | None, is_open: bool, today: date) -> date | None:
    """The rule of overdue (overdue_condition) for one claim, from its values: the first day it was overdue
    (the day after its due date), or None when it is not overdue on `today`. Claim.overdue_since and the
    API's plain rows (ClaimQuerySet.as_rows) both read it. Runs no query."""
    if kind not in TRACKED_KINDS or due_on is None or due_on >= today or not is_open:
        return None
    return due_on + timedelta(days=1)


def quote_in_window(window: str, window_start: int, *, start: int, end: int) -> QuoteInContext:
    """A verified quote (at start:end of its snapshot's text) in its paragraph, cut from the window of that
    text ClaimQuerySet.with_quote_context reads (from window_start). Runs no query."""
    offset = start - window_start
    return paragraph_around(window, offset, offset + end - start)


# The columns of a claim that belong to the status, written by claims.services only; and the ones
# Claim.save() writes on an update (the rest are generated, or copied by a trigger).
STATUS_COLUMNS = frozenset({"status", "status_changed_at"})
CLAIM_EDITABLE_COLUMNS = (
    "speaker",
    "source",
    "slug",
    "text",
    "quote",
    "fidelity",
    "quote_snapshot",
    "quote_start",
    "quote_end",
    "kind",
    "said_on",
    "due_on",
    "updated_at",
)


class VerdictQuerySet(models.QuerySet["Verdict"]):
    def published(self) -> VerdictQuerySet:
        """Verdicts with a publication time (drafts have none). No extra query."""
        return self.filter(published_at__isnull=False)

    def drafts(self) -> VerdictQuerySet:
        """Verdicts not published yet. No extra query."""
        return self.filter(published_at__isnull=True)

    def for_timeline(self) -> VerdictQuerySet:
        """As a claim's timeline shows them (ClaimQuerySet.with_timeline): status and evidence (with_evidence),
        newest first. No extra query."""
        return self.with_evidence().newest_first()

    def newest_first(self) -> VerdictQuerySet:
        """Published verdicts newest first, drafts (no publication time) before them; backed by an index."""
        return self.order_by(F("published_at").desc(nulls_first=True), "-id")

    def timeline_rows(self, *, before: datetime | None = None) -> VerdictQuerySet:
        """Claims' timelines as plain rows (ClaimQuerySet.as_rows' counterpart, for the API's claim detail):
        the published verdicts (before `before`, as of a past day), newest first, as dicts of
        VERDICT_ROW_FIELDS and `evidence_list`. Filter it by claim_id: one query, on claims_verdict_claim_idx.
        """
        verdicts = self.published()
        if before is not None:
            verdicts = verdicts.filter(published_at__lt=before)
        return verdicts.with_evidence().newest_first().values(*VERDICT_ROW_FIELDS, "evidence_list")

    def with_evidence(self) -> VerdictQuerySet:
        """Status joined in and `evidence_list` annotated: a list of {source: {...}, note} from one subquery."""
        evidence = (
            Evidence.objects.filter(verdict=OuterRef("pk"))
            .order_by("position", "id")
            .values(
                json=JSONObject(
                    note="note",
                    source=JSONObject(
                        id="source__id",
                        title="source__title",
                        publisher="source__publisher",
                        url="source__url",
                        published_on="source__published_on",
                    ),
                )
            )
        )
        return self.select_related("status").annotate(evidence_list=ArraySubquery(evidence))


# A verdict as a plain row (VerdictQuerySet.timeline_rows): what the API shows of it, its status joined.
VERDICT_ROW_FIELDS = (
    "id",
    "summary",
    "explanation",
    "published_at",
    *(f"status__{name}" for name in ("slug", "label", "scale", "position")),
)


@track_history()
class Verdict(models.Model):
    """One dated judgement on a claim. Published verdicts are never rewritten (a database trigger refuses)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="verdicts")
    status = models.ForeignKey(Status, on_delete=models.PROTECT, related_name="verdicts")
    # The claim's scale, copied by claims.services: with it, composite foreign keys to (claim, scale) and
    # (status, scale) make the database refuse a status from the wrong scale.
    scale = models.CharField(max_length=20, choices=Scale, editable=False)
    summary = models.CharField(max_length=300, help_text="One line: what the evidence shows.")
    explanation = models.TextField(blank=True, help_text="The reasoning, for readers.")
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty for a draft, which changes nothing public."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = version_field()
    correction_note = models.TextField(
        "reason for changing the rating",
        blank=True,
        default="",
        # Also the database's default, so a raw insert (the benchmark's generate_claims) needs no value.
        db_default="",
        help_text="Facts only: when this verdict changes a published rating, why. Required then, and public "
        "as a correction once the verdict is published.",
    )

    objects = VerdictQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["claim", "-published_at", "-id"], name="claims_verdict_claim_idx"),
            # The admin's "Awaiting review" queue: drafts, oldest first. Partial, so it holds the drafts only.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(published_at__isnull=True),
                name="claims_verdict_draft_queue_idx",
            ),
        ]
        # Recording a draft is add_verdict; publishing is this, held by the Reviewers group (migration 0014).
        permissions = [("publish_verdict", "Can publish verdicts")]
        constraints = [
            models.CheckConstraint(condition=Q(scale__in=Scale.values), name="claims_verdict_scale_valid"),
            models.CheckConstraint(
                condition=~Q(summary=""),
                name="claims_verdict_summary_not_empty",
                violation_error_message="A verdict needs a one-line summary.",
            ),
            models.UniqueConstraint(
                fields=["claim", "published_at"],
                name="claims_verdict_claim_published_uniq",
                violation_error_message="The claim already has a verdict published at that time.",
            ),
        ]

    def __str__(self) -> str:
        when = self.published_at.date().isoformat() if self.published_at else "draft"
        return f"{self.status.label} ({when}): {self.summary}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class EvidenceQuerySet(models.QuerySet["Evidence"]):
    def published(self) -> EvidenceQuerySet:
        """Evidence of published verdicts (the public's, and immutable). One join, no extra query."""
        return self.filter(verdict__published_at__isnull=False)


@track_history()
class Evidence(models.Model):
    """A source cited by a verdict, with a note on what it shows."""

    verdict = models.ForeignKey(Verdict, on_delete=models.CASCADE, related_name="evidence")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="evidence")
    note = models.TextField(blank=True, help_text="What this source shows, for readers.")
    position = models.PositiveSmallIntegerField(default=0)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["verdict", "position", "id"]
        verbose_name_plural = "evidence"
        indexes = [models.Index(fields=["verdict", "position", "id"], name="claims_evidence_order_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["verdict", "source"],
                name="claims_evidence_verdict_source_uniq",
                violation_error_message="Each source can be cited once per verdict.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.note[:60]}"


class StatusChangeQuerySet(models.QuerySet["StatusChange"]):
    def for_feed(self) -> StatusChangeQuerySet:
        """Oldest first by id (the feed's order), claim and both statuses joined in: one query a page."""
        return self.select_related("claim", "from_status", "to_status").order_by("id")

    def newest_first(self) -> StatusChangeQuerySet:
        """Newest first, claim and speaker joined, not the statuses: for a page that has read every status
        already (the home page, with its counts) and sets from_status and to_status from them, instead of
        two more joins to plan and two more models a row to build. One query a page."""
        return self.select_related("claim__speaker").order_by("-id")


@track_history()
class StatusChange(models.Model):
    """An append-only record of a claim's published status change (a database trigger refuses edits).

    Inserts are serialised by a transaction-level advisory lock, so ids commit in order and a consumer
    reading the feed with ?after=<last id> never misses one.
    """

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.ForeignKey(Status, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_status = models.ForeignKey(Status, on_delete=models.PROTECT, related_name="+")
    verdict = models.OneToOneField(Verdict, on_delete=models.PROTECT, related_name="status_change")
    published_at = models.DateTimeField(help_text="When the verdict was published.")
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        db_table = "claims_change"
        ordering = ["id"]
        indexes = [models.Index(fields=["claim", "id"], name="claims_change_claim_idx")]

    def __str__(self) -> str:
        before = self.from_status.label if self.from_status else "unrated"
        return f"{self.claim}: {before} → {self.to_status.label}"


class CorrectionQuerySet(models.QuerySet["Correction"]):
    def published(self) -> CorrectionQuerySet:
        """Corrections the public may see: those of published claims. One join, no extra query."""
        return self.filter(claim__status__isnull=False)

    def for_listing(self) -> CorrectionQuerySet:
        """Claim joined in (without its search vector and quote, which a list never shows): one query a page.

        Unordered: the paginator orders the list, newest first by id (the primary key's index).
        """
        return self.select_related("claim").defer("claim__search", "claim__quote")


@track_history()
class Correction(models.Model):
    """A public correction of a published claim: what changed, and why. Append-only (a trigger refuses edits).

    Written by claims.services alone: when a published claim's text, quote, speaker, source, date said or
    kind is changed (save_claim), or when a verdict changes a fact's published rating (the verdict's
    correction_note, at its publication). Its id is drawn from the changes feed's sequence under the feed's
    lock (migration 0016), so corrections and status changes share one order: the changes feed.
    """

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="corrections")
    note = models.TextField(help_text="What was corrected and why, for readers.")
    changes = models.JSONField(
        default=dict,
        blank=True,
        help_text="What changed: {field: {old, new}}, with speakers and sources by name and id.",
    )
    verdict = models.OneToOneField(
        Verdict,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="correction",
        help_text="For a changed rating: the verdict that changed it.",
    )
    from_status = models.ForeignKey(Status, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_status = models.ForeignKey(Status, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    published_at = models.DateTimeField(help_text="When the correction was published (the database's clock).")
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["claim", "-id"], name="claims_correction_claim_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(note__regex=r"\S"),
                name="claims_correction_note_not_empty",
                violation_error_message="A correction needs a note saying what was corrected and why.",
            ),
            models.CheckConstraint(
                condition=Q(verdict__isnull=True, to_status__isnull=True, from_status__isnull=True)
                | Q(verdict__isnull=False, to_status__isnull=False, from_status__isnull=False),
                name="claims_correction_rating_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim}: {self.note[:60]}"

    def get_absolute_url(self) -> str:
        return f"{self.claim.get_absolute_url()}#correction-{self.pk}"

    @property
    def is_rating_correction(self) -> bool:
        return self.verdict_id is not None


class EventType(models.TextChoices):
    """The public events, as the events feed, the Atom feeds and webhooks name them (Standard Webhooks'
    dotted `type`)."""

    STATUS_CHANGED = "claim.status_changed", "Status changed"
    CORRECTED = "claim.corrected", "Corrected"
    OVERDUE = "claim.overdue", "Overdue"


class EventQuerySet(models.QuerySet["Event"]):
    def after(self, event_id: int) -> EventQuerySet:
        """Events with an id above `event_id`, oldest first: the feed's order, which is commit order."""
        return self.filter(id__gt=event_id).order_by("id")

    def page(self, *, after: int, limit: int) -> list[Event]:
        """The events above `after`, oldest first, at most `limit`, reading only what the feed shows (the
        events feed's paginator, claims.pagination.ChangeFeedPagination, calls it). One query, on the primary
        key's index, or on claims_event_claim_idx / _speaker_idx / _type_idx when filtered by one of those.

        Every event is public: claims.events writes them only for published claims, and a claim is never
        unpublished, so no join to the claim is needed to hide any.
        """
        return list(self.page_query(after=after, limit=limit))

    def page_query(self, *, after: int, limit: int) -> EventQuerySet:
        """page()'s query, not run (its plan is tested: tests/test_events_feed.py)."""
        return self.after(after).only("id", "type", "created_at", "payload")[:limit]

    def newest(self, limit: int) -> list[Event]:
        """The newest `limit` events, newest first, with the claim's current slug (the Atom feeds' links,
        which follow a renamed claim). One query: backwards on the same indexes as page()."""
        return list(
            self.select_related("claim")
            .only("id", "type", "created_at", "payload", "claim__slug")
            .order_by("-id")[:limit]
        )


class Event(models.Model):
    """One public event: a published status change, a correction, a claim become overdue. Append-only.

    Written by claims.events alone, in the transaction of what it reports, under the changes feed's advisory
    lock (a trigger takes it on every insert, whoever writes): ids commit in id order, so a consumer reading
    with ?after=<last id> never misses one, and webhooks are enqueued in the same transaction. `payload` is
    the event's `data` exactly as published (the claim in brief, the statuses, the verdict or correction), so
    the feed, the Atom feeds and every webhook delivery of an event carry the same body.
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=40, choices=EventType)
    # No index of their own: claims_event_claim_idx and claims_event_speaker_idx, (claim, id) and (speaker,
    # id), serve the foreign keys too, and give a claim's or a speaker's events in the feed's order.
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events", db_index=False)
    # The claim's speaker when the event happened (the ?speaker= filter), kept if the claim is corrected.
    speaker = models.ForeignKey(Speaker, on_delete=models.PROTECT, related_name="+", db_index=False)
    # DO_NOTHING: status changes and corrections are append-only (the database refuses their deletion, with
    # the foreign key behind it), so Django need not look for events before trying.
    status_change = models.OneToOneField(
        StatusChange, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="event"
    )
    correction = models.OneToOneField(
        Correction, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="event"
    )
    # For an overdue event: the due date the claim passed (one overdue event per claim and due date).
    due_on = models.DateField(null=True, blank=True)
    payload = models.JSONField(help_text="The event's data, as published.")
    created_at = models.DateTimeField(help_text="When the event happened (the database's clock).")

    objects = EventQuerySet.as_manager()

    class Meta:
        db_table = "claims_event"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["claim", "id"], name="claims_event_claim_idx"),
            models.Index(fields=["speaker", "id"], name="claims_event_speaker_idx"),
            models.Index(fields=["type", "id"], name="claims_event_type_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="claims_event_type_valid"),
            models.CheckConstraint(
                condition=Q(type=EventType.STATUS_CHANGED, status_change__isnull=False)
                | Q(type=EventType.CORRECTED, correction__isnull=False)
                | Q(type=EventType.OVERDUE, due_on__isnull=False),
                name="claims_event_has_its_record",
            ),
            models.UniqueConstraint(
                fields=["claim", "due_on"],
                condition=Q(type=EventType.OVERDUE),
                name="claims_event_overdue_once",
                violation_error_message="This claim's passing of this due date is already an event.",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            # Every insert waits for the changes feed's lock (claims.events.CHANGE_FEED_LOCK), held to
            # commit, and only then draws its id (the column has no default, migration 0021): ids commit in
            # order, whoever inserts. An id drawn before the lock (a column default) could be overtaken: a
            # writer that drew 5 and then waited would commit after one that drew 6 and got the lock first.
            pgtrigger.Trigger(
                name="feed_lock",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func="PERFORM pg_advisory_xact_lock(7146532901); "
                "NEW.id := nextval(pg_get_serial_sequence('claims_event', 'id')); RETURN NEW;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.claim_id}"


@dataclass(frozen=True)
class FeedEntry:
    """One entry of the changes feed (/api/v1/changes/): a status change or a correction, by id."""

    id: int
    type: str
    claim: Claim
    from_status: Status | None
    to_status: Status | None
    verdict_id: int | None
    published_at: datetime
    correction: dict[str, Any] | None


_FEED_STATUS_COLUMNS = ("slug", "label", "scale", "position")


def _feed_branch(queryset: models.QuerySet, kind: str, **extra: models.Expression) -> models.QuerySet:
    """One side of the feed's UNION: the same columns, in the same order, from either table."""
    return queryset.values(
        "id",
        "claim_id",
        "verdict_id",
        entry_type=Value(kind, output_field=models.CharField()),
        claim_slug=F("claim__slug"),
        claim_text=F("claim__text"),
        **{f"from_{name}": F(f"from_status__{name}") for name in _FEED_STATUS_COLUMNS},
        **{f"to_{name}": F(f"to_status__{name}") for name in _FEED_STATUS_COLUMNS},
        at=F("published_at"),
        **extra,
    )


class ChangeFeed:
    """The changes feed as the API's paginator reads it (claims.pagination.ChangeFeedPagination)."""

    # The model whose permissions guard the feed (DRF's DjangoModelPermissions asks the view's queryset).
    model = StatusChange

    def page(self, *, after: int, limit: int) -> list[FeedEntry]:
        """The entries above `after`, oldest first, at most `limit`. One query (feed_entries)."""
        return feed_entries(after=after, limit=limit)


def feed_entries(*, after: int, limit: int) -> list[FeedEntry]:
    """The changes feed's entries with an id above `after`, oldest first, at most `limit`: status changes and
    corrections together. One query: a UNION ALL of the two tables, each side reading its primary key's index
    from `after` (ORDER BY id LIMIT `limit`), the union then ordered by id and limited again.

    Both tables draw their ids from one sequence under one advisory lock held to commit (migration 0016), so
    the union's ids commit in order and a consumer polling ?after=<last id> never misses an entry.
    """
    status_changes = _feed_branch(
        StatusChange.objects.filter(id__gt=after),
        "status_change",
        correction_note=Cast(Value(None), models.TextField()),
        correction_changes=Cast(Value(None), models.JSONField()),
    ).order_by("id")[:limit]
    corrections = _feed_branch(
        Correction.objects.filter(id__gt=after),
        "correction",
        correction_note=F("note"),
        correction_changes=F("changes"),
    ).order_by("id")[:limit]
    rows = status_changes.union(corrections, all=True).order_by("id")[:limit]
    return [_feed_entry(row) for row in rows]


def _feed_status(row: dict[str, Any], prefix: str) -> Status | None:
    if row[f"{prefix}_slug"] is None:
        return None
    return Status(**{name: row[f"{prefix}_{name}"] for name in _FEED_STATUS_COLUMNS})


def _feed_entry(row: dict[str, Any]) -> FeedEntry:
    is_correction = row["entry_type"] == "correction"
    return FeedEntry(
        id=row["id"],
        type=row["entry_type"],
        claim=Claim(id=row["claim_id"], slug=row["claim_slug"], text=row["claim_text"]),
        from_status=_feed_status(row, "from"),
        to_status=_feed_status(row, "to"),
        verdict_id=row["verdict_id"],
        published_at=row["at"],
        correction=(
            {"note": row["correction_note"], "changes": row["correction_changes"]} if is_correction else None
        ),
    )


class OldSlug(models.Model):
    """A former slug: its old address answers with a permanent redirect to the current one.

    Recorded by the database (migration 0016) whenever a slug changes, whoever writes it, and never given to
    another row: a new claim or speaker cannot take a slug that is still another's old address (a trigger
    refuses, the admin's forms say so first), so an old link never silently starts to show something else.
    """

    slug = models.SlugField(max_length=200, unique=True)
    retired_at = models.DateTimeField(db_default=Now(), help_text="When the slug was changed.")

    class Meta:
        abstract = True
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


@track_history()
class OldClaimSlug(OldSlug):
    """A former slug of a published claim (an unpublished claim's address was never public)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="old_slugs")

    class Meta(OldSlug.Meta):
        verbose_name = "old claim slug"


@track_history()
class OldSpeakerSlug(OldSlug):
    """A former slug of a speaker."""

    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="old_slugs")

    class Meta(OldSlug.Meta):
        verbose_name = "old speaker slug"


@track_history()
class LoadedDataSet(models.Model):
    """A set of default data that `manage.py load_default_data` has loaded, so it is never loaded twice.

    The record of the load itself, not a guess from rows editors may since have changed (the seed article's
    URL, say): once a set is here, the command skips it on every later run.
    """

    name = models.SlugField(max_length=50, unique=True, help_text="The data set: “statuses”, “seed-article”.")
    loaded_at = models.DateTimeField(auto_now_add=True, help_text="When load_default_data loaded it.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (loaded {self.loaded_at:%Y-%m-%d %H:%M})"


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64 (the HMAC-SHA256 key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def matching_any(self, events: list[Event]) -> WebhookEndpointQuerySet:
        """Active endpoints whose filters may match one of `events` (WebhookEndpoint.matches says which),
        made in the admin or by a key still in force (ClientKeyQuerySet.in_force: a revoked or expired key's
        endpoints, or an inactive user's, are sent nothing). One query when evaluated, on the partial index
        of active endpoints, the key and its user joined."""
        claims = {event.claim_id for event in events}
        speakers = {event.speaker_id for event in events}
        types = sorted({event.type for event in events})
        return self.filter(
            Q(claim__isnull=True) | Q(claim__in=claims),
            Q(speaker__isnull=True) | Q(speaker__in=speakers),
            Q(event_types=[]) | Q(event_types__overlap=types),
            Q(key__isnull=True) | ClientKey.in_force_condition(timezone.now(), prefix="key__"),
            is_active=True,
        ).order_by("id")

    def of_key(self, key: ClientKey) -> WebhookEndpointQuerySet:
        """The endpoints `key` registered, as the API shows them to it (no other key's, nor the admin's), in
        id order: the speaker joined (its slug), the secrets never read. One query, on
        claims_webhook_key_idx."""
        return (
            self.filter(key=key).select_related("speaker").defer("secret", "previous_secret").order_by("id")
        )


@track_history(exclude=["secret", "previous_secret", "failing_since", "last_success_at"])
class WebhookEndpoint(models.Model):
    """A URL that receives the public events as Standard Webhooks (claims/webhooks.py), filtered by speaker,
    claim and event type.

    The secret signs every request, so it is kept as it is (it cannot be hashed): it is shown once, when the
    endpoint is made or its secret rotated, never again, and the audit history leaves it out. After a
    rotation the previous secret signs too until `previous_secret_expires_at`, so a consumer can switch
    over without losing a request. Deliveries that keep failing disable the endpoint, with the reason.
    """

    url = models.URLField(
        "URL",
        max_length=2000,
        help_text="Where events are POSTed: https://, on a public address (a private one is refused).",
    )
    description = models.CharField(max_length=200, blank=True, help_text="Who receives it, and why.")
    speaker = models.ForeignKey(
        Speaker,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only this speaker's claims' events (empty: every speaker).",
    )
    claim = models.ForeignKey(
        "Claim",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only this claim's events (empty: every claim).",
    )
    event_types = ArrayField(
        models.CharField(max_length=40, choices=EventType),
        default=list,
        blank=True,
        help_text="Only these kinds of event (none chosen: all).",
    )
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Until then the previous secret signs too."
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Events are sent to active endpoints only."
    )
    disabled_reason = models.TextField(blank=True, help_text="Why factcheck disabled this endpoint.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (null after a success): prolonged failure disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The owner. CASCADE: an endpoint is its key's client's, so a key deleted (or its user, whose keys go
    # with them) takes its endpoints and their delivery log along; SET_NULL would hand them to the admin and
    # keep sending events to an address nobody answers for any more, PROTECT would stop a user's deletion.
    # Revoking, the usual end of a key (it is kept, read-only), deletes nothing: its endpoints stay, with
    # their log, and are sent nothing (WebhookEndpointQuerySet.matching_any, WebhookEndpoint.delivers).
    key = models.ForeignKey(
        "ClientKey",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        db_index=False,  # claims_webhook_key_idx (key, id) serves it
        verbose_name="API key",
        help_text="The API key that registered it through the API, which alone manages it there; empty: made "
        "in the admin. It is sent events only while its key is in force (not revoked or expired, its user "
        "active).",
    )

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"
        indexes = [
            models.Index(fields=["id"], condition=Q(is_active=True), name="claims_webhook_active_idx"),
            # A key's endpoints, in id order (the API's list, paged by id).
            models.Index(fields=["key", "id"], name="claims_webhook_key_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_types__contained_by=EventType.values), name="claims_webhook_types_valid"
            ),
            models.CheckConstraint(
                condition=Q(secret__startswith="whsec_"),  # noqa: S106 (a prefix, not a password)
                name="claims_webhook_secret_set",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def matches(self, event: Event) -> bool:
        """Whether this endpoint's filters take `event` (the rule matching_any narrows in the database)."""
        return (
            (self.claim_id is None or self.claim_id == event.claim_id)
            and (self.speaker_id is None or self.speaker_id == event.speaker_id)
            and (not self.event_types or event.type in self.event_types)
        )

    def delivers(self, at: datetime) -> bool:
        """Whether a request is sent to this endpoint now: it is active and, if a key registered it, the key
        is in force at `at`. Reads the key and its user (select_related("key__user") saves the queries)."""
        return self.is_active and (self.key_id is None or self.key.in_force(at))

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets that sign a request sent at `at`: the current one, and the previous one during the
        overlap after a rotation."""
        if self.previous_secret and self.previous_secret_expires_at and at < self.previous_secret_expires_at:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent (endpoint disabled)"


class WebhookDelivery(models.Model):
    """One event for one endpoint: a message with a stable `webhook-id`, sent until it succeeds or its
    retries run out. Made in the transaction of the event (claims.events._insert) with its first job.

    Not in the audit history: the deliveries and their attempts are themselves the log of what was sent.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=DeliveryState, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The procrastinate job that owns the delivery now: a job that is not it (a stale one) does nothing, so
    # a stalled job retried after its successor was deferred cannot send twice. Null until the first job
    # claims it.
    job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="claims_delivery_endpoint_idx"),
            models.Index(fields=["state", "-id"], name="claims_delivery_state_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="claims_delivery_once"),
            models.CheckConstraint(condition=Q(state__in=DeliveryState.values), name="claims_delivery_state"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} to {self.endpoint_id}"

    @property
    def webhook_id(self) -> str:
        """The message's `webhook-id`: the event's, so it is the same on every attempt and replay (and for
        every endpoint the event goes to), and a consumer dedupes by it."""
        return f"msg_{self.event_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the admin's delivery log shows it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished = models.BooleanField(default=False, help_text="False while sending, or if the worker died.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, help_text="The response body's first kilobyte.")
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = "webhook attempt"
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="claims_attempt_number_once"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} of {self.delivery_id}: {self.status_code or self.error or 'sending'}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# API keys -------------------------------------------------------------------------------------------------


class Scope(models.TextChoices):
    """What an API key may write (claims.api.keys.KeyScope). A key never does more than its user may: each
    write also takes the user's Django permissions (claims.api.keys.SCOPE_PERMISSIONS)."""

    WRITE_SPEAKERS = "write_speakers", "Create speakers"
    WRITE_SOURCES = "write_sources", "Create sources (and archive their text)"
    WRITE_CLAIMS = "write_claims", "Create claims"
    RECORD_VERDICTS = "record_verdicts", "Record draft verdicts"
    PUBLISH_VERDICTS = "publish_verdicts", "Publish verdicts"
    MANAGE_WEBHOOKS = "manage_webhooks", "Manage webhooks"


class ClientKeyQuerySet(models.QuerySet["ClientKey"]):
    def usable(self) -> ClientKeyQuerySet:
        """Keys not revoked whose user is active, with the user joined in (the request acts as them).
        An expired key is found, so the refusal can say it expired."""
        return self.filter(revoked=False, user__is_active=True).select_related("user")


class ClientKeyManager(BaseAPIKeyManager.from_queryset(ClientKeyQuerySet)):  # type: ignore[misc]
    """The package's manager (create_key, get_from_key: a key is found by its prefix, then its SHA-512
    compared in constant time), with a key's primary key its own number: the package's default id is
    "<prefix>.<hash>", which every foreign key and the audit history would then copy."""

    def assign_key(self, obj: AbstractAPIKey) -> str:
        """Give `obj` a new key's prefix and hash; return the key itself, which is stored nowhere."""
        key, prefix, hashed_key = self.key_generator.generate()
        obj.prefix, obj.hashed_key = prefix, hashed_key
        return key

    def get_usable_keys(self) -> ClientKeyQuerySet:
        return self.get_queryset().usable()


# Excluded from the history: the hash of the key, which only the key's holder needs to match.
@track_history(exclude=["hashed_key"])
class ClientKey(AbstractAPIKey):
    """An API key: a client sends `Authorization: Api-Key <key>` and acts as the key's user, within the key's
    scopes and the user's permissions, at the key's throttle rate. Only its SHA-512 is stored (the key is
    shown once, when it is made in the admin); its first eight characters, the prefix, find it.

    Revoking is for ever (the package refuses to un-revoke); an expiry date ends it at that time.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="The key acts as this user: its writes are recorded as theirs, and it may do no more than "
        "their permissions allow.",
    )
    scopes = ArrayField(
        models.CharField(max_length=32, choices=Scope.choices),
        default=list,
        blank=True,
        help_text="What the key may write. None: it reads only, as anyone may.",
    )
    throttle_rate = models.CharField(
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(
                rf"^(?:{settings.THROTTLE_RATE_PATTERN})\Z",
                "Requests per period, such as 600/minute (second, minute, hour or day).",
            )
        ],
        help_text="Requests per period, such as 600/minute. Empty: the site's default (API_KEY_THROTTLE_RATE).",
    )

    objects = ClientKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["-created", "-id"], name="claims_clientkey_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(scopes__contained_by=Scope.values),
                name="claims_clientkey_known_scopes",
                violation_error_message="An API key's scopes are among the listed ones.",
            ),
            models.CheckConstraint(
                condition=Q(throttle_rate="")
                | Q(throttle_rate__regex=rf"^({settings.THROTTLE_RATE_PATTERN})$"),
                name="claims_clientkey_throttle_rate",
                violation_error_message="A throttle rate is requests per period, such as 600/minute.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @staticmethod
    def in_force_condition(at: datetime, *, prefix: str = "") -> Q:
        """The condition for keys usable at `at` (not revoked, not expired, their user active), for a query
        of keys (prefix "") or of rows that point to one (prefix "key__")."""
        return Q(
            Q(**{f"{prefix}expiry_date__isnull": True}) | Q(**{f"{prefix}expiry_date__gt": at}),
            **{f"{prefix}revoked": False, f"{prefix}user__is_active": True},
        )

    def in_force(self, at: datetime) -> bool:
        """Whether the key authenticates at `at` (ClientKeyAuthentication's rule). Reads its user."""
        return (
            not self.revoked and self.user.is_active and (self.expiry_date is None or self.expiry_date > at)
        )


class SiteClockQuerySet(models.QuerySet["SiteClock"]):
    def read(self) -> SiteClockReading:
        """The clock's version and change time, and the database's time of reading them. One query.

        A missing row (a test's flush, a restore of a dump without it) reads as version 0 at the epoch: the
        next public write puts the row back (the trigger's upsert), at a new version and time.

        Every anonymous public request reads it (factcheck.caching), a 304 little else: written as SQL, it
        costs a tenth of what the same query built by the ORM did (0.07 ms against 0.5 ms a read), and as a
        prepared statement (claims.prepared.execute_prepared) it is planned once per connection.
        """
        return self._read()[0]

    def read_after(self, sql: str, params: dict[str, Any]) -> tuple[SiteClockReading, Any]:
        """The clock, read in one statement with `sql`: a statement that writes and returns one value (the
        API throttle's upsert, factcheck.caching), which runs whether or not the clock has its row. Returns
        the reading, as read() does, and that value. One query, prepared."""
        return self._read(sql, params)

    def _read(
        self, sql: str | None = None, params: dict[str, Any] | None = None
    ) -> tuple[SiteClockReading, Any]:
        """The one statement of read() and read_after(): the clock's row, if any, beside `sql`'s value."""
        written, value = (f"WITH written AS ({sql}) ", "(SELECT * FROM written)") if sql else ("", "NULL")
        ((version, changed_at, read_at, value),) = execute_prepared(
            connections[self.db],
            f"{written}SELECT clock.version, clock.changed_at, clock_timestamp(), {value} "  # noqa: S608 - the caller's own SQL, its values parameters
            "FROM (VALUES (1)) AS one LEFT JOIN claims_site_clock AS clock ON clock.id = %(site_clock_row)s",
            {**(params or {}), "site_clock_row": SiteClock.ROW},
        )
        if version is None:
            return SiteClockReading(0, datetime(1970, 1, 1, tzinfo=UTC), None), value
        return SiteClockReading(version, changed_at, read_at), value


@dataclass(frozen=True)
class SiteClockReading:
    """What SiteClock.objects.read() returns: `read_at` is None when there was no row to read."""

    version: int
    changed_at: datetime
    read_at: datetime | None


class SiteClock(models.Model):
    """One row that moves with every committed change to what anonymous readers can see: the validator of
    every public page and API response (factcheck.caching), read in one query instead of the data itself.

    Moved by the database only (migration 0024): a deferred constraint trigger on each public table
    (claims_site_clock_bump) bumps `version` and sets `changed_at` once per transaction, at its commit,
    under the changes feed's advisory lock, so both follow commit order and every writer moves them (the
    services, the admin, a queryset update, raw SQL). Not in the audit history: it is derived, and would
    record one event per public write.
    """

    ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW, editable=False)
    version = models.BigIntegerField(
        default=1, help_text="Goes up by one with each committed transaction that changed public data."
    )
    changed_at = models.DateTimeField(
        db_default=Now(), help_text="When the latest such transaction committed (the database's clock)."
    )

    objects = SiteClockQuerySet.as_manager()

    class Meta:
        db_table = "claims_site_clock"
        verbose_name = "site clock"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1), name="claims_site_clock_one_row", violation_error_message="One row only."
            ),
        ]

    def __str__(self) -> str:
        return f"version {self.version}, changed {self.changed_at:%Y-%m-%d %H:%M:%S}"


# The tallies' advisory lock: one fold at a time (a writer's, in migration 0026's claims_claim_tally_add, or
# fold_tallies).
TALLY_FOLD_LOCK = 7146532926


class StatusTally(models.Model):
    """How many published claims have each status, as deltas to sum: the home page's counts, read in one
    small query (Status.objects.with_claim_counts()) however many claims there are.

    Written by the database only (migration 0026): statement-level AFTER triggers on claims_claim insert one
    row per status a statement changed (+n published with it, -n no longer), so every writer keeps it right
    (the services, the admin, generate_claims' INSERT … SELECT, raw SQL) and is right at commit: the counts
    are never stale after a publication. Insert-only for writers: two concurrent publications never touch
    the same row, so they neither wait for nor deadlock each other. The deltas are folded into one row per
    status (fold_tallies, and by each writer that finds the fold lock free), so a read sums a handful of
    rows. Derived, like the site clock: not in the audit history, and with no site clock trigger of its
    own (the claims' writes that change it move the clock, and a fold changes no sum).

    No foreign key in the database (nor a cascade for Django to follow): a status or speaker in use cannot
    be deleted (PROTECT from claims and verdicts), one that is not has only deltas summing to zero, which
    the next fold drops, and ids are never reused; the reads start from the statuses and speakers.
    """

    status = models.ForeignKey(Status, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    delta = models.IntegerField()

    class Meta:
        db_table = "claims_status_tally"

    def __str__(self) -> str:
        return f"status {self.status_id}: {self.delta:+d}"


class SpeakerTally(models.Model):
    """How many published claims each speaker has with each status, as deltas to sum: a speaker's page and
    the API's speakers read it (Status.objects.with_claim_counts(speaker=...), Speaker.with_claim_counts)
    instead of counting their claims. Written and folded with StatusTally (see there), by the same
    triggers."""

    speaker = models.ForeignKey(
        Speaker, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.ForeignKey(
        Status, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    delta = models.IntegerField()

    class Meta:
        db_table = "claims_speaker_tally"
        indexes = [models.Index(fields=["speaker", "status"], name="claims_speaker_tally_idx")]

    def __str__(self) -> str:
        return f"speaker {self.speaker_id}, status {self.status_id}: {self.delta:+d}"


def fold_tallies() -> bool:
    """Fold the tallies' deltas into one row per status and per speaker and status (zero totals dropped):
    the sums stay the same, the reads stay a row per key. Costs a read of the tallies (a row per key) and a
    rewrite of the keys with deltas; none when they are folded. False when another fold held the lock (the
    writers' triggers fold what they touch; the next run gets the rest).

    Two statements in one short transaction, under TALLY_FOLD_LOCK taken without waiting. Each is a
    `WITH gone AS (DELETE … RETURNING) INSERT … SELECT sum(delta) FROM gone`: it removes exactly the rows it
    sums, so deltas committed meanwhile (not in its snapshot) stay for the next fold. The lock keeps two
    folds from deleting the same rows; even without it they could not double count: under READ COMMITTED
    a DELETE that waited on a row another fold deleted re-checks it, finds it gone, and neither deletes nor
    returns it, while the other fold's new row came after its snapshot.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TALLY_FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(FOLD_ALL)
    return True


# Only the keys with more than one row are rewritten: a fold of folded tallies reads them and writes nothing.
FOLD_ALL = """
WITH gone AS (
    DELETE FROM claims_status_tally
    WHERE status_id IN (SELECT status_id FROM claims_status_tally GROUP BY status_id HAVING count(*) > 1)
    RETURNING status_id, delta
)
INSERT INTO claims_status_tally (status_id, delta)
SELECT status_id, sum(delta) FROM gone GROUP BY status_id HAVING sum(delta) <> 0;
WITH gone AS (
    DELETE FROM claims_speaker_tally
    WHERE (speaker_id, status_id) IN (
        SELECT speaker_id, status_id FROM claims_speaker_tally GROUP BY speaker_id, status_id HAVING count(*) > 1
    )
    RETURNING speaker_id, status_id, delta
)
INSERT INTO claims_speaker_tally (speaker_id, status_id, delta)
SELECT speaker_id, status_id, sum(delta) FROM gone GROUP BY speaker_id, status_id HAVING sum(delta) <> 0;
"""
