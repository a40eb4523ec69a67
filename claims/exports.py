"""Every published claim in one download: CSV, JSON Lines and a ClaimReview feed, streamed in constant memory.

One code path for the API (claims.api.views, /api/v1/exports/...) and `manage.py export_claims`: both hand a
filtered `Claim.objects.published().for_export()` to `claim_chunks()` and the chunks to an `ExportFormat`'s
`stream()`, which yields the document as text, one piece per chunk.

Reading: keyset chunks by id, `WHERE id > <last id> ORDER BY id LIMIT CHUNK_SIZE` on the primary key, one
query a chunk, each a short statement of its own. Not a server-side cursor (`QuerySet.iterator()`), which
needs a transaction held open for the whole download: a slow client would pin a database connection and
hold back vacuum for minutes, and a transaction-pooling pgbouncer cannot keep a cursor between statements.
The price: the export is not one snapshot. A claim published while the download runs appears if its id is
still ahead; every claim appears at most once (each id is read once), as it stood when its chunk was read.

Memory: at most two chunks of claims are alive at once (the one being written, and the next one while it
is read) and one chunk's text, whatever the number of claims (tests/test_exports.py counts the claims and
measures the peak with tracemalloc at two sizes).

A download cut short (the database lost mid-way, the server stopped) cannot turn into an error status any
more: the response is already under way. HTTP/1.1 sends it chunked, so a client sees the transfer end
without its final empty chunk and knows it is incomplete; the ClaimReview feed is also invalid JSON then.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from claims.claimreview import claim_review
from claims.models import Claim, ClaimQuerySet
from claims.site_urls import absolute_url

# Rows read per query. A module constant, so that a test can make it small.
CHUNK_SIZE = 2000

# Cells a spreadsheet would read as a formula (OWASP's "CSV injection"): a cell starting with one of these
# is written with a ' first, so that it is shown as text, never run.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _time(value: datetime, zone: tzinfo | None = None) -> str:
    """A time as the API writes it (DRF's DateTimeField): ISO 8601 in the current time zone (`zone`, read
    once per export by the caller), UTC as "Z", so an export and the claim list agree to the character."""
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def claim_chunks(claims: ClaimQuerySet, *, size: int | None = None) -> Iterator[list[Claim]]:
    """The claims in id order, `size` (default CHUNK_SIZE) at a time.

    One query a chunk, on the primary key's index; after a full chunk one more query, which may find
    nothing: N claims cost N // size + 1 queries. Any ordering or annotation the filters added (a search's
    rank) is replaced by the id order.
    """
    size = size or CHUNK_SIZE
    last_id = 0
    while True:
        chunk = list(claims.filter(id__gt=last_id).order_by("id")[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last_id = chunk[-1].id


@dataclass(frozen=True)
class Links:
    """The absolute links of an export's rows: the API's claim URL (on the request's host, as the claim
    list's `url`), and the public page (on SITE_URL when set, as the list's `html_url`). Without a request
    (the command), both are on SITE_URL, or site paths when it is not set.

    The URLs are reversed once per export, not once per row.
    """

    api_prefix: str
    page_prefix: str
    # ClaimReview's author URL falls back to the request's host too (claims.site_urls.organization_url).
    request: HttpRequest | None = None
    # The time zone the export's times are written in (the current one; read once, not per row).
    zone: tzinfo | None = None
    # The day overdue is reckoned from (the site's today when the export starts; read once, not per row).
    today: date | None = None

    @classmethod
    def for_request(cls, request: HttpRequest | None) -> Links:
        api = reverse("api:claim-detail", kwargs={"pk": 1}).removesuffix("1/")
        page = reverse("claims:claim-detail", kwargs={"slug": "x"}).removesuffix("x/")
        return cls(
            api_prefix=request.build_absolute_uri(api) if request is not None else absolute_url(api),
            page_prefix=absolute_url(page, request),
            request=request,
            zone=timezone.get_current_timezone(),
            today=timezone.localdate(),
        )

    def api(self, claim: Claim) -> str:
        return f"{self.api_prefix}{claim.id}/"

    def page(self, claim: Claim) -> str:
        return f"{self.page_prefix}{claim.slug}/"


def claim_record(claim: Claim, links: Links) -> dict[str, Any]:
    """A claim as the claim list gives it (claims.api.serializers.ClaimSerializer, the same keys, values and
    nesting) and the latest verdict's `verdict_summary`. Runs no query: expects ClaimQuerySet.for_export().

    Built by hand rather than by the serializer, which costs several times more per row.
    """
    speaker, source, status = claim.speaker, claim.source, claim.status
    overdue_since = claim.overdue_since(links.today)
    return {
        "id": claim.id,
        "slug": claim.slug,
        "text": claim.text,
        "quote": claim.quote,
        "fidelity": claim.fidelity,
        "quote_verified": claim.quote_verified,
        "kind": claim.kind,
        "speaker": {"id": speaker.id, "slug": speaker.slug, "name": speaker.name, "role": speaker.role},
        "source": {
            "id": source.id,
            "title": source.title,
            "publisher": source.publisher,
            "url": source.url,
            "published_on": source.published_on.isoformat() if source.published_on else None,
        },
        "said_on": claim.said_on.isoformat(),
        "due_on": claim.due_on.isoformat() if claim.due_on else None,
        "overdue": overdue_since is not None,
        "overdue_since": overdue_since.isoformat() if overdue_since else None,
        "status": {
            "slug": status.slug,
            "label": status.label,
            "scale": status.scale,
            "position": status.position,
        },
        "status_changed_at": _time(claim.status_changed_at, links.zone),
        "url": links.api(claim),
        "html_url": links.page(claim),
        "created_at": _time(claim.created_at, links.zone),
        "updated_at": _time(claim.updated_at, links.zone),
        "verdict_summary": claim.verdict_summary,
    }


# CSV: the record flattened, one column per value; a nested object's values as <object>_<key>.
CSV_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    *(
        (name, lambda record, name=name: record[name])
        for name in ("id", "slug", "url", "html_url", "text", "quote", "fidelity", "quote_verified", "kind")
    ),
    ("said_on", lambda record: record["said_on"]),
    ("due_on", lambda record: record["due_on"]),
    ("overdue", lambda record: record["overdue"]),
    ("overdue_since", lambda record: record["overdue_since"]),
    *(
        (f"speaker_{key}", lambda record, key=key: record["speaker"][key])
        for key in ("id", "slug", "name", "role")
    ),
    *(
        (f"source_{key}", lambda record, key=key: record["source"][key])
        for key in ("id", "title", "publisher", "url", "published_on")
    ),
    ("status", lambda record: record["status"]["slug"]),
    ("status_label", lambda record: record["status"]["label"]),
    ("status_scale", lambda record: record["status"]["scale"]),
    ("status_position", lambda record: record["status"]["position"]),
    ("status_changed_at", lambda record: record["status_changed_at"]),
    ("verdict_summary", lambda record: record["verdict_summary"]),
    ("created_at", lambda record: record["created_at"]),
    ("updated_at", lambda record: record["updated_at"]),
)


def csv_cell(value: Any) -> str:
    """One CSV cell: None as empty, booleans as true/false, and text a spreadsheet would run as a formula
    prefixed with ' (FORMULA_STARTS)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_stream(chunks: Iterable[list[Claim]], links: Links, *, feed_url: str) -> Iterator[str]:
    """RFC 4180 CSV: a header row, then a row per claim, every cell quoted (OWASP's advice with the '
    prefix), CRLF line ends; a quote, comma or line break inside a cell is kept inside its quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([name for name, _ in CSV_COLUMNS])
    yield buffer.getvalue()
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        for claim in chunk:
            record = claim_record(claim, links)
            writer.writerow([csv_cell(value(record)) for _, value in CSV_COLUMNS])
        yield buffer.getvalue()


# Characters that some readers take for a line break (Python's str.splitlines(), JavaScript before ES2019)
# but JSON leaves as they are: written as escapes, which every JSON parser reads back as the same characters,
# so that a line of JSON Lines is always one claim however it is split.
_LINE_BREAK_ESCAPES = {ord("\x85"): "\\u0085", ord("\u2028"): "\\u2028", ord("\u2029"): "\\u2029"}


def _json(data: Any) -> str:
    """Compact JSON, UTF-8 text as it is except the characters some readers split lines at."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_LINE_BREAK_ESCAPES)


def jsonl_stream(chunks: Iterable[list[Claim]], links: Links, *, feed_url: str) -> Iterator[str]:
    """JSON Lines: one claim_record() a line, each line a whole JSON object, LF-terminated. A line break in
    a value is written as \\n inside its string, so a line is always one claim."""
    for chunk in chunks:
        yield "".join(_json(claim_record(claim, links)) + "\n" for claim in chunk)


def claimreview_stream(chunks: Iterable[list[Claim]], links: Links, *, feed_url: str) -> Iterator[str]:
    """A schema.org DataFeed of ClaimReviews, the shape of the Fact Check Markup Tool's feed that Data
    Commons publishes for aggregators: one DataFeedItem per claim, its `item` the claim page's own
    ClaimReview (claims.claimreview.claim_review, the same JSON-LD the page carries) and `dateModified` the
    claim's last change. One JSON document, written a chunk at a time; it parses only once complete.

    Expects the claims with ClaimQuerySet.with_scale_bounds() (the ratings' bounds, in the same query).
    """
    head = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "name": f"{settings.FACTCHECK_ORGANIZATION_NAME}: fact checks",
        "url": feed_url or absolute_url(reverse("api:export-claimreview"), links.request),
        "dateModified": _time(timezone.now()),
    }
    yield _json(head)[:-1] + ',"dataFeedElement":['
    first = True
    for chunk in chunks:
        items = []
        for claim in chunk:
            review = claim_review(claim, links.request)
            if review is None:  # not reviewed: never the case for a published claim
                continue
            element = {
                "@type": "DataFeedItem",
                "url": review["url"],
                "dateModified": _time(claim.updated_at, links.zone),
                "item": [review],
            }
            items.append(_json(element))
        if items:
            yield ("" if first else ",") + ",".join(items)
            first = False
    yield "]}"


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its name (the command's --format), the media type and file extension it is
    served with, and the function that writes it."""

    name: str
    media_type: str
    extension: str
    write: Callable[..., Iterator[str]]
    # The ClaimReview feed reads the rating scale's bounds; the other formats need not pay for them.
    needs_scale_bounds: bool = False

    def claims(self, claims: ClaimQuerySet) -> ClaimQuerySet:
        """What this format reads of the (filtered) published claims: for_export(), with the scale's bounds
        for ClaimReview. Still one query a chunk."""
        claims = claims.for_export()
        return claims.with_scale_bounds() if self.needs_scale_bounds else claims

    def stream(
        self, chunks: Iterable[list[Claim]], *, request: HttpRequest | None = None, feed_url: str = ""
    ) -> Iterator[str]:
        """The document, a piece per chunk (the CSV header and the feed's opening before the first)."""
        return self.write(chunks, Links.for_request(request), feed_url=feed_url)

    def filename(self) -> str:
        """The download's name: claims-<today>.<extension> (the site's time zone)."""
        return f"claims-{timezone.localdate().isoformat()}.{self.extension}"


# text/csv with its charset; JSON Lines as application/x-ndjson, the type most tools that read line-delimited
# JSON send and accept (application/jsonl is not registered either); the feed as JSON-LD.
FORMATS = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8", "csv", csv_stream),
    "jsonl": ExportFormat("jsonl", "application/x-ndjson", "jsonl", jsonl_stream),
    "claimreview": ExportFormat(
        "claimreview", "application/ld+json", "json", claimreview_stream, needs_scale_bounds=True
    ),
}
