"""What the pages build once per process (claims.prepared, claims.site_urls.slug_path, the `day` filter)
answers exactly what building it for every request answered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pghistory
import pytest
from django.db import connection
from django.db.models import F
from django.template import Context, Template
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone, translation

from claims.models import Claim
from claims.prepared import PreparedQuery, execute_prepared
from claims.services import EvidenceItem, record_verdict
from claims.site_urls import slug_path
from claims.templatetags.dates import day
from claims.views import CLAIM_PAGE, TIMELINE, claim_page_claims
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_source,
)

pytestmark = pytest.mark.django_db


def by_slug(slug: str):
    return Claim.objects.published().select_related("speaker", "status").filter(slug=slug)


def test_a_prepared_query_reads_what_its_queryset_reads(statuses, django_assert_num_queries):
    claim = make_rated_claim()
    prepared = PreparedQuery(lambda slug: by_slug(slug).annotate(twice=F("id") * 2), slug=str)

    with django_assert_num_queries(1):
        [row] = prepared.run(slug=claim.slug)
    assert row == claim
    assert row.speaker.name == claim.speaker.name
    assert row.status.slug == claim.status.slug
    assert row.twice == claim.id * 2
    assert row.status_changed_at == Claim.objects.get(pk=claim.pk).status_changed_at


def test_a_prepared_query_reads_the_rows_as_they_are_now_not_as_compiled(statuses):
    claim = make_rated_claim()
    prepared = PreparedQuery(by_slug, slug=str)
    assert prepared.run(slug=claim.slug)[0].status.slug == "true"

    record_verdict(
        claim=claim, status=get_status("false"), summary="Wrong after all.", correction_note="New evidence."
    )
    other = make_rated_claim()

    assert prepared.run(slug=claim.slug)[0].status.slug == "false"
    assert prepared.run(slug=other.slug) == [other]
    assert prepared.run(slug="no-such-claim") == []


def test_a_prepared_querys_values_are_parameters_not_sql(statuses):
    make_rated_claim()
    prepared = PreparedQuery(by_slug, slug=str)

    assert prepared.run(slug="x' OR '1'='1") == []
    assert prepared.run(slug='x" OR 1=1 --') == []


def test_a_prepared_query_takes_an_id_too(statuses):
    claim = make_rated_claim()
    prepared = PreparedQuery(lambda claim_id: Claim.objects.filter(pk=claim_id), claim_id=int)

    assert prepared.run(claim_id=claim.pk) == [claim]
    assert prepared.run(claim_id=claim.pk + 1000) == []


def test_a_shape_that_does_not_pass_its_value_through_once_is_refused(statuses):
    unused = PreparedQuery(lambda slug: Claim.objects.filter(slug="fixed"), slug=str)
    twice = PreparedQuery(lambda slug: Claim.objects.filter(slug=slug, text=slug), slug=str)

    with pytest.raises(ValueError, match="0 places for 'slug'"):
        unused.run(slug="a")
    with pytest.raises(ValueError, match="2 places for 'slug'"):
        twice.run(slug="a")


def test_the_claim_page_queries_read_what_the_page_queryset_reads(statuses):
    claim = make_claim()
    for slug in ("unverified", "false", "true"):
        record_verdict(
            claim=claim,
            status=get_status(slug),
            summary=f"Now {slug}.",
            evidence=[EvidenceItem(source=make_source(), note=f"Why {slug}.")],
            correction_note="" if slug == "unverified" else f"Re-rated {slug}.",
        )
    built = claim_page_claims().with_timeline().get(slug=claim.slug)

    [prepared] = CLAIM_PAGE.run(slug=claim.slug)
    timeline = TIMELINE.run(claim_id=prepared.pk)

    fields = ("pk", "text", "status_id", "status_changed_at", "correction_list", "quote_window")
    assert [getattr(prepared, name) for name in fields] == [getattr(built, name) for name in fields]
    assert (prepared.status__worst_position, prepared.status__best_position) == (
        built.status__worst_position,
        built.status__best_position,
    )
    assert [(v.pk, v.status.slug, v.evidence_list) for v in timeline] == [
        (v.pk, v.status.slug, v.evidence_list) for v in built.timeline
    ]
    assert [v.summary for v in timeline] == ["Now true.", "Now false.", "Now unverified."]


# Links ---------------------------------------------------------------------------------------------


def test_a_slug_path_is_what_reverse_says():
    for viewname in ("claims:claim-detail", "claims:speaker-detail"):
        for slug in ("a", "talks-begin-immediately", "x_1-2", "slug-placeholder-"):
            assert slug_path(viewname, slug) == reverse(viewname, kwargs={"slug": slug})


def test_a_slug_path_follows_the_script_prefix():
    try:
        set_script_prefix("/factcheck/")
        assert slug_path("claims:claim-detail", "a-claim") == "/factcheck/claims/a-claim/"
    finally:
        set_script_prefix("/")
    assert slug_path("claims:claim-detail", "a-claim") == "/claims/a-claim/"


def test_a_slug_reverse_refuses_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        slug_path("claims:claim-detail", "not a slug")
    with pytest.raises(NoReverseMatch):
        slug_path("claims:claim-detail", "")


# Days ----------------------------------------------------------------------------------------------


def test_a_day_is_written_as_the_date_filter_writes_it():
    for value in (date(2025, 3, 3), date(1999, 12, 31), date(2024, 2, 29)):
        assert day(value) == date_filter(value, "j F Y")
    assert day(date(2025, 3, 3)) == "3 March 2025"
    assert day(None) == ""
    assert day("") == ""


def test_a_time_is_written_as_its_day_in_the_current_time_zone():
    late = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)
    template = Template("{% load dates %}{{ when|day }}|{{ when|date:'j F Y' }}")
    with timezone.override("Asia/Tokyo"):
        assert template.render(Context({"when": late})) == "4 March 2025|4 March 2025"
    with timezone.override("UTC"):
        assert template.render(Context({"when": late})) == "3 March 2025|3 March 2025"


def test_a_day_is_written_in_the_active_language():
    value = date(2025, 3, 3)
    assert day(value) == "3 March 2025"
    with translation.override("fr"):
        assert day(value) == date_filter(value, "j F Y") == "3 mars 2025"
    assert day(value) == "3 March 2025"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY statement")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_prepared_query_is_planned_once_per_connection(statuses):
    claim = make_rated_claim()
    prepared = PreparedQuery(by_slug, slug=str)
    before = prepared_statements()

    prepared.run(slug=claim.slug)
    after_one = prepared_statements()
    prepared.run(slug="another-slug")

    [new] = [statement for statement in after_one if statement not in before]
    assert '"claims_claim"."slug" = $' in new
    assert prepared_statements() == after_one


def test_without_prepared_statements_a_prepared_query_runs_unprepared(statuses, monkeypatch):
    claim = make_rated_claim()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    prepared = PreparedQuery(by_slug, slug=str)
    before = prepared_statements()

    assert prepared.run(slug=claim.slug) == [claim]
    assert prepared_statements() == before


def test_a_prepared_query_is_in_the_query_log_with_its_values(statuses):
    claim = make_rated_claim()
    prepared = PreparedQuery(by_slug, slug=str)

    with CaptureQueriesContext(connection) as queries:
        prepared.run(slug=claim.slug)

    [query] = queries.captured_queries
    assert f'"claims_claim"."slug" = \'{claim.slug}\'' in query["sql"]


def test_the_api_lists_pages_are_prepared_and_page_as_the_filtered_list_does(client, statuses):
    """The API's claim list with no filter asked runs prepared pages (claims.pagination.prepared_page_of):
    forward and back by cursor, each page is the one the same list built per request gives (a filter that
    keeps every claim, kind=fact, takes the other path), one query a page besides the site clock."""
    make_rated_claims(7)

    def walk(path: str, link: str) -> list[list[int]]:
        pages = []
        while path:
            with CaptureQueriesContext(connection) as queries:
                body = client.get(path).json()
            assert len(queries) == SITE_CLOCK + 1
            pages.append([claim["id"] for claim in body["results"]])
            path = body[link]
        return pages

    prepared = walk("/api/v1/claims/?page_size=3", "next")
    built = walk("/api/v1/claims/?page_size=3&kind=fact", "next")
    assert prepared == built
    assert [len(page) for page in prepared] == [3, 3, 1]
    ids = [claim.pk for claim in Claim.objects.published().order_by("-status_changed_at", "-id")]
    assert [claim for page in prepared for claim in page] == ids
    last = client.get("/api/v1/claims/?page_size=3").json()
    while last["next"]:
        last = client.get(last["next"]).json()
    back = walk(last["previous"], "previous")
    assert [claim for page in reversed(back) for claim in page] == ids[:6]
    statements = prepared_statements()
    assert any("LIMIT 4" in statement for statement in statements)


THROTTLE_ROW = (
    "INSERT INTO factcheck_api_throttle (key, tat, wait) VALUES (%s, now(), interval '0') RETURNING key"
)


def test_a_write_is_prepared_outside_a_history_context():
    before = prepared_statements()

    assert execute_prepared(connection, THROTTLE_ROW, ["outside"]) == [("outside",)]
    assert len(prepared_statements()) == len(before) + 1


def test_inside_a_history_context_a_write_runs_unprepared():
    # django-pghistory puts its context before every write statement of a tracked request (an API write, an
    # admin save): two statements in one text, which PostgreSQL refuses to prepare.
    before = prepared_statements()

    with pghistory.context(reason="a test"):
        assert execute_prepared(connection, THROTTLE_ROW, ["inside"]) == [("inside",)]
    assert prepared_statements() == before
