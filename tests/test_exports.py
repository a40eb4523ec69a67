"""The exports of every published claim (claims.exports): the API's /api/v1/exports/... and manage.py export_claims.

What a consumer gets (the published claims only, as the claim list gives them, in each format's rules), the
filters and their 400s, HEAD, the queries (one a chunk) and the memory (one chunk's worth at any size).
"""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
import weakref
from datetime import date
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.signals import post_init
from django.utils import timezone

from claims import exports
from claims.models import Claim, Fidelity, Kind
from claims.services import record_verdict
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_source,
    make_speaker,
)
from tests.test_api_errors import problem_body
from tests.test_claimreview import page_blocks

pytestmark = pytest.mark.django_db

CSV_URL = "/api/v1/exports/claims.csv"
JSONL_URL = "/api/v1/exports/claims.jsonl"
FEED_URL = "/api/v1/exports/claimreview.json"
EXPORT_URLS = [CSV_URL, JSONL_URL, FEED_URL]


def streamed(response) -> str:
    """The whole body of a streaming response, as text (UTF-8)."""
    assert response.status_code == 200, response.content if not response.streaming else ""
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def jsonl_rows(text: str) -> list[dict]:
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def exported_ids(url: str, text: str) -> list[int]:
    """The claim ids an export holds, in its order, whatever its format."""
    if url.startswith(CSV_URL):
        return [int(row["id"]) for row in csv_rows(text)]
    if url.startswith(JSONL_URL):
        return [row["id"] for row in jsonl_rows(text)]
    slugs = [element["url"].rstrip("/").rsplit("/", 1)[1] for element in json.loads(text)["dataFeedElement"]]
    by_slug = dict(Claim.objects.filter(slug__in=slugs).values_list("slug", "id"))
    return [by_slug[slug] for slug in slugs]


def export(client, url: str, **params: str) -> list[int]:
    full = f"{url}?{urlencode(params)}" if params else url
    return exported_ids(url, streamed(client.get(full)))


# --- what is exported -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_export_holds_every_published_claim_in_id_order_and_nothing_unpublished(client, statuses, url):
    published = make_rated_claims(4)
    make_claim(text="An unrated claim.")
    drafted = make_claim(text="A claim with only a draft verdict.")
    record_verdict(claim=drafted, status=get_status("false"), summary="Draft.", publish=False)

    assert export(client, url) == sorted(claim.id for claim in published)


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_export_of_no_claims_is_a_valid_empty_document(client, statuses, url):
    text = streamed(client.get(url))

    if url == CSV_URL:
        assert text == ",".join(f'"{name}"' for name, _ in exports.CSV_COLUMNS) + "\r\n"
    elif url == JSONL_URL:
        assert text == ""
    else:
        assert json.loads(text)["dataFeedElement"] == []


def test_the_jsonl_export_is_the_claim_lists_claims_with_their_latest_verdicts_summary(client, statuses):
    source = make_source(archived_text="The minister said: talks begin today. Then she left.")
    fact = make_claim(source=source, quote="talks begin today", text="Talks begin today.")
    record_verdict(claim=fact, status=get_status("false"), summary="No talks were held.")
    record_verdict(
        claim=fact,
        status=get_status("mostly-false"),
        summary="One meeting was held, not talks.",
        correction_note="A meeting was found.",
    )
    promise = make_rated_claim(
        kind=Kind.PROMISE, due_on=date(2026, 1, 1), quote="We will", fidelity=Fidelity.REPORTED
    )
    make_rated_claims(3)

    records = {record["id"]: record for record in jsonl_rows(streamed(client.get(JSONL_URL)))}
    listed = {claim["id"]: claim for claim in client.get("/api/v1/claims/?page_size=100").json()["results"]}

    assert set(records) == set(listed)
    for claim_id, record in records.items():
        assert {key: value for key, value in record.items() if key != "verdict_summary"} == listed[claim_id]
    assert records[fact.id]["verdict_summary"] == "One meeting was held, not talks."
    assert records[fact.id]["quote_verified"] is True
    assert records[fact.id]["status"]["slug"] == "mostly-false"
    assert records[promise.id]["due_on"] == "2026-01-01"
    assert records[promise.id]["fidelity"] == "reported"


def test_the_csv_export_is_the_jsonl_records_flattened_with_a_header_row(client, statuses):
    make_rated_claims(3)
    make_rated_claim(kind=Kind.PREDICTION, due_on=date(2027, 5, 1))

    rows = csv_rows(streamed(client.get(CSV_URL)))
    records = jsonl_rows(streamed(client.get(JSONL_URL)))

    assert list(rows[0]) == [name for name, _ in exports.CSV_COLUMNS]
    assert len(rows) == len(records) == 4
    for row, record in zip(rows, records, strict=True):
        assert row["id"] == str(record["id"])
        assert row["html_url"] == record["html_url"]
        assert row["speaker_slug"] == record["speaker"]["slug"]
        assert row["speaker_name"] == record["speaker"]["name"]
        assert row["source_title"] == record["source"]["title"]
        assert row["source_url"] == record["source"]["url"]
        assert row["status"] == record["status"]["slug"]
        assert row["status_label"] == record["status"]["label"]
        assert row["status_changed_at"] == record["status_changed_at"]
        assert row["updated_at"] == record["updated_at"]
        assert row["verdict_summary"] == record["verdict_summary"] == "Checked against the record."
        assert row["quote_verified"] == "false"
        assert row["due_on"] == (record["due_on"] or "")


def test_csv_cells_keep_quotes_commas_and_line_breaks_and_never_start_a_formula(client, statuses):
    tricky = make_rated_claim(
        text='He said "no", then\nyes, and then\r\nmaybe; 50% — “ü”.',
        quote='=HYPERLINK("https://evil.example", "click")',
        fidelity=Fidelity.PARAPHRASE,
        speaker=make_speaker(name="+Plus Minus", slug="plus"),
        source=make_source(title="@handle's post", publisher="-dash"),
    )
    record_verdict(
        claim=tricky,
        status=get_status("false"),
        summary="-5% is not the figure",
        correction_note="Re-rated.",
    )

    raw = client.get(CSV_URL)
    text = streamed(raw)
    [row] = csv_rows(text)

    assert raw["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        raw["Content-Disposition"] == f'attachment; filename="claims-{timezone.localdate().isoformat()}.csv"'
    )
    # The text comes back whole, its line breaks inside its quoted cell; only the row ends are CRLF lines.
    assert row["text"] == 'He said "no", then\nyes, and then\r\nmaybe; 50% — “ü”.'
    assert '"He said ""no"", then\nyes' in text
    # Cells a spreadsheet would run as a formula start with ' (OWASP); the JSON Lines export has them as they are.
    assert row["quote"] == '\'=HYPERLINK("https://evil.example", "click")'
    assert row["speaker_name"] == "'+Plus Minus"
    assert row["source_title"] == "'@handle's post"
    assert row["source_publisher"] == "'-dash"
    assert row["verdict_summary"] == "'-5% is not the figure"
    [record] = jsonl_rows(streamed(client.get(JSONL_URL)))
    assert record["quote"] == '=HYPERLINK("https://evil.example", "click")'
    assert record["speaker"]["name"] == "+Plus Minus"
    assert record["verdict_summary"] == "-5% is not the figure"
    # Every cell quoted, and the header row first.
    assert text.startswith('"id","slug",')


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (7, "7"),
    ],
)
def test_a_csv_cell_is_prefixed_only_when_it_starts_like_a_formula(value, cell):
    assert exports.csv_cell(value) == cell


def test_a_jsonl_line_is_one_claim_even_when_its_text_has_line_breaks(client, statuses):
    tricky = "One\nclaim\u2028on\r\nfive\x85lines\u2029and “more”."
    make_rated_claim(text=tricky)
    make_rated_claim(text="Another.")

    text = streamed(client.get(JSONL_URL))

    # However a reader splits lines (Python's splitlines() breaks at U+2028 and NEL too), a line is a claim.
    lines = text.splitlines()
    assert len(lines) == 2 and text.endswith("\n")
    assert [json.loads(line)["text"] for line in lines] == [tricky, "Another."]
    assert "“more”" in lines[0]  # UTF-8 as it is, not \u escapes


def test_the_claimreview_feed_is_a_datafeed_of_each_claim_pages_own_claimreview(client, statuses, settings):
    settings.FACTCHECK_ORGANIZATION_NAME = "The Checkers"
    claims = make_rated_claims(3)
    make_claim(text="Not reviewed.")

    response = client.get(FEED_URL)
    feed = json.loads(streamed(response))

    assert response["Content-Type"] == "application/ld+json"
    assert not response.has_header("Content-Disposition")
    assert feed["@context"] == "https://schema.org"
    assert feed["@type"] == "DataFeed"
    assert feed["name"] == "The Checkers: fact checks"
    assert feed["url"] == "http://testserver" + FEED_URL
    assert len(feed["dataFeedElement"]) == 3
    records = jsonl_rows(streamed(client.get(JSONL_URL)))
    for claim, record, element in zip(claims, records, feed["dataFeedElement"], strict=True):
        _, [page_json_ld] = page_blocks(client, claim)
        assert element["@type"] == "DataFeedItem"
        assert element["url"] == "http://testserver" + claim.get_absolute_url()
        assert element["item"] == [json.loads(page_json_ld)]
        assert element["item"][0]["@type"] == "ClaimReview"
        assert element["dateModified"] == record["updated_at"]


# --- filters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_export_reads_the_claim_lists_filters(client, statuses, url):
    speaker = make_speaker(slug="peskov")
    by_peskov = make_rated_claim(speaker=speaker, said_on=date(2025, 3, 1))
    false_one = make_rated_claim(
        status=get_status("false"), said_on=date(2025, 4, 1), text="Grain exports rose."
    )
    promise = make_rated_claim(kind=Kind.PROMISE, said_on=date(2025, 5, 1))

    assert export(client, url, speaker="peskov") == [by_peskov.id]
    assert export(client, url, status="false") == [false_one.id]
    assert export(client, url, kind="promise") == [promise.id]
    assert export(client, url, said_on_after="2025-04-01") == [false_one.id, promise.id]
    assert export(client, url, said_on_before="2025-03-31") == [by_peskov.id]
    assert export(client, url, q="grain") == [false_one.id]
    since = timezone.now()
    record_verdict(claim=by_peskov, status=get_status("false"), summary="Re.", correction_note="Re-rated.")
    assert export(client, url, updated_since=since.isoformat()) == [by_peskov.id]
    assert export(client, url, speaker="peskov", status="true") == []


@pytest.mark.parametrize("url", EXPORT_URLS)
@pytest.mark.parametrize(
    "query",
    [
        "speaker=nobody",
        "status=very-false",
        "kind=rumour",
        "said_on_after=2025-13-01",
        "updated_since=yesterday",
        "speaker=nobody&said_on_before=soon",
    ],
)
def test_a_bad_filter_value_is_the_claim_lists_400(client, statuses, url, query):
    listed = problem_body(client.get(f"/api/v1/claims/?{query}"), 400)

    assert problem_body(client.get(f"{url}?{query}"), 400) == listed


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_unknown_parameter_is_a_400_naming_it(client, statuses, url):
    body = problem_body(client.get(f"{url}?spaeker=peskov&cursor=abc"), 400)

    assert set(body["errors"]) == {"spaeker", "cursor"}
    assert body["errors"]["spaeker"][0].startswith("Unknown parameter.")


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_accept_header_without_the_exports_type_is_a_406(client, statuses, url):
    assert problem_body(client.get(url, HTTP_ACCEPT="text/html"), 406)["title"] == "Not Acceptable"


# --- HEAD, queries and memory ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_head_answers_the_headers_without_reading_a_claim(client, statuses, url, django_assert_num_queries):
    make_rated_claims(3)
    get = client.get(url)
    streamed(get)

    # The site clock only (the validators): no claim is read.
    with django_assert_num_queries(SITE_CLOCK):
        head = client.head(url)
        body = b"".join(head.streaming_content)

    assert head.status_code == 200
    assert body == b""
    for header in ("Content-Type", "Content-Disposition"):
        assert head.get(header) == get.get(header)


@pytest.mark.parametrize("url", EXPORT_URLS)
@pytest.mark.parametrize("count", [0, 1, 5, 6, 7])
def test_an_export_is_one_query_a_chunk(client, statuses, django_assert_num_queries, monkeypatch, url, count):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    claims = make_rated_claims(count) if count else []

    # N claims in chunks of 3: N // 3 + 1 queries (after a full chunk, one more finds whether more follow).
    with django_assert_num_queries(SITE_CLOCK + count // 3 + 1):
        text = streamed(client.get(url))

    assert exported_ids(url, text) == [claim.id for claim in sorted(claims, key=lambda claim: claim.id)]


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_a_filter_by_slug_adds_its_one_query(client, statuses, django_assert_num_queries, monkeypatch, url):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    speaker = make_speaker(slug="zelensky")
    make_rated_claims(7, speaker=speaker, status=get_status("false"))

    # The speaker's slug and the statuses (for ?status=) are read once each, then a query a chunk.
    with django_assert_num_queries(SITE_CLOCK + 2 + 3):
        text = streamed(client.get(f"{url}?speaker=zelensky&status=false"))

    assert len(exported_ids(url, text)) == 7


def _peak_memory_of_an_export(client, url: str) -> tuple[int, int]:
    """The peak of Python's allocations while a client reads the whole export, and the bytes it read. The
    body is counted and dropped a piece at a time, as a client saving it to a file would."""
    gc.collect()
    tracemalloc.start()
    try:
        response = client.get(url)
        size = sum(len(piece) for piece in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"{url}: {size:,} bytes read, peak {peak:,} bytes")
    return peak, size


class LiveClaims:
    """Counts the Claim objects alive in the process, and the most alive at once, as an export runs."""

    def __init__(self) -> None:
        self.alive = self.most = 0

    def created(self, sender: type, instance: Claim, **kwargs: object) -> None:
        self.alive += 1
        self.most = max(self.most, self.alive)
        weakref.finalize(instance, self.gone)

    def gone(self) -> None:
        self.alive -= 1


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_an_export_holds_at_most_two_chunks_of_claims_at_once(client, statuses, monkeypatch, url):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 50)
    call_command("generate_claims", 1000, "--speakers", "20", "--i-know", stdout=io.StringIO())
    live = LiveClaims()
    post_init.connect(live.created, sender=Claim)
    try:
        assert len(exported_ids(url, streamed(client.get(url)))) == 1000
    finally:
        post_init.disconnect(live.created, sender=Claim)

    # The chunk being written, and the next one while it is read: never more, whatever the number of claims.
    assert 50 <= live.most <= 2 * 50


def test_an_exports_memory_does_not_grow_with_the_number_of_claims(client, statuses, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 100)
    call_command("generate_claims", 2000, "--speakers", "20", "--i-know", stdout=io.StringIO())
    for url in EXPORT_URLS:  # the first exports fill Django's and psycopg's caches
        b"".join(client.get(url).streaming_content)
    # A tenth of the claims (those said in the first 37 days of the generated year), then all of them.
    small = {
        url: _peak_memory_of_an_export(client, f"{url}?said_on_before=2025-02-06") for url in EXPORT_URLS
    }
    large = {url: _peak_memory_of_an_export(client, url) for url in EXPORT_URLS}
    whole = Claim.objects.published().for_export()
    gc.collect()
    tracemalloc.start()
    try:
        assert len(list(whole)) == 2000
        _, whole_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    for url in EXPORT_URLS:
        (small_peak, small_size), (large_peak, large_size) = small[url], large[url]
        assert large_size > 9 * small_size, url  # ten times the claims...
        # ...and at most 0.6 MB more at the peak: the interpreter keeps some freed row tuples for reuse as
        # rows go by, a bounded amount (about 0.4 MB, no more from 3,000 to 6,000 claims). Holding the rows
        # would take far more: the 2,000 claims read as one list take `whole_peak`.
        assert large_peak - small_peak < 600_000, (url, small_peak, large_peak)
        assert whole_peak > 5 * (large_peak - small_peak + 600_000)


# --- manage.py export_claims ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "url"), [("csv", CSV_URL), ("jsonl", JSONL_URL), ("claimreview", FEED_URL)])
def test_the_command_writes_the_same_export_as_the_api(
    client, statuses, settings, monkeypatch, tmp_path, name, url
):
    # With SITE_URL set, links are the same from a request and from the command.
    settings.FACTCHECK_SITE_URL = "https://facts.example"
    settings.FACTCHECK_ORGANIZATION_URL = "https://facts.example/"
    settings.ALLOWED_HOSTS = ["facts.example"]
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    make_rated_claims(5)
    output = tmp_path / f"claims.{name}"
    stderr = io.StringIO()

    call_command("export_claims", "--format", name, "--output", str(output), "--progress", stderr=stderr)

    written = output.read_bytes().decode("utf-8")
    served = streamed(client.get(url, HTTP_HOST="facts.example", secure=True))
    if name == "claimreview":  # the feed's own URL and time differ; every element is the same
        assert json.loads(written)["dataFeedElement"] == json.loads(served)["dataFeedElement"]
    else:
        assert written == served
    lines = stderr.getvalue().splitlines()
    assert [line.split(", ")[0] for line in lines[:3]] == [
        "Exported 2 of 5 claims (40%)",
        "Exported 4 of 5 claims (80%)",
        "Exported 5 of 5 claims (100%)",
    ]
    assert all(line.endswith(" claims/s") for line in lines[:3])
    assert lines[3:] == [f"Wrote 5 claims as {name} to {output}."]


def test_the_command_writes_to_stdout_without_progress_when_stderr_is_no_terminal(statuses):
    claims = make_rated_claims(2)
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("export_claims", "--format", "jsonl", stdout=stdout, stderr=stderr)

    assert [record["id"] for record in jsonl_rows(stdout.getvalue())] == [claim.id for claim in claims]
    assert stderr.getvalue() == "Wrote 2 claims as jsonl to stdout.\n"


def test_the_command_counts_first_only_to_show_progress(statuses, django_assert_num_queries):
    make_rated_claims(3)

    with django_assert_num_queries(1):
        call_command(
            "export_claims", "--format", "csv", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO()
        )
    with django_assert_num_queries(2):
        call_command(
            "export_claims", "--format", "csv", "--progress", stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_a_failed_export_leaves_the_previous_file_as_it_was(statuses, tmp_path, monkeypatch):
    make_rated_claims(2)
    output = tmp_path / "claims.csv"
    output.write_text("yesterday's export")

    def broken(chunks, links, *, feed_url):
        yield "half a row"
        raise RuntimeError("the database went away")

    monkeypatch.setitem(exports.FORMATS, "csv", exports.ExportFormat("csv", "text/csv", "csv", broken))
    with pytest.raises(RuntimeError):
        call_command("export_claims", "--format", "csv", "-o", str(output), stderr=io.StringIO())

    assert output.read_text() == "yesterday's export"
    assert [path.name for path in tmp_path.iterdir()] == ["claims.csv"]


def test_the_command_refuses_a_file_it_cannot_write(statuses, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_claims", "--format", "csv", "-o", str(tmp_path / "missing" / "claims.csv"))


def test_the_command_refuses_an_unknown_format():
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("export_claims", "--format", "xml")


def test_an_export_is_in_the_sites_time_zone_and_names_its_day(client, statuses, settings):
    settings.TIME_ZONE = "Europe/Kyiv"
    claim = make_rated_claim()

    response = client.get(CSV_URL)
    [row] = csv_rows(streamed(response))

    assert row["status_changed_at"] == timezone.localtime(claim.status_changed_at).isoformat()
    assert row["status_changed_at"][-6:] in ("+02:00", "+03:00")  # Kyiv's offset (EET or EEST), never "Z"
    assert f"claims-{timezone.localdate().isoformat()}.csv" in response["Content-Disposition"]


def test_an_export_is_of_today_and_refuses_as_of_and_reads_overdue(client, statuses, set_today):
    """An export's statuses, summaries and overdue are today's: ?as_of= is an unknown parameter there (a
    400 naming it), and each record says whether the claim is overdue, as the claim list does."""
    promise = make_rated_claim(
        kind=Kind.PROMISE, due_on=date(2026, 1, 1), said_on=date(2025, 12, 1), status=get_status("open")
    )
    set_today(date(2026, 11, 26))
    response = client.get(JSONL_URL, {"as_of": "2026-01-01"})
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]
    records = {record["id"]: record for record in jsonl_rows(streamed(client.get(JSONL_URL)))}
    assert records[promise.id]["overdue"] is True
    assert records[promise.id]["overdue_since"] == "2026-01-02"
    overdue_only = jsonl_rows(streamed(client.get(JSONL_URL, {"overdue": "true"})))
    assert [record["id"] for record in overdue_only] == [promise.id]
