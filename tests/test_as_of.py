"""?as_of=YYYY-MM-DD: the claim list, a claim and its page as they stood at the end of a past day (site time
zone), from the verdict timeline: "what did we say on 20 May 2025?". One query a page, as without it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from claims.models import Claim, Kind
from claims.services import record_verdict
from tests.factories import SITE_CLOCK, get_status, make_claim, make_rated_claims
from tests.test_api_errors import parameter_errors
from tests.test_pages import claim_links, get_html

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
TALKS = "trump-ceasefire-talks-begin-immediately"


@pytest.fixture
def today(set_today):
    set_today(TODAY)
    return TODAY


def at(day: int, hour: int = 12, month: int = 5) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def rerated_fact(slug: str = "rerated") -> Claim:
    """A fact rated True on 10 May 2025, then False on 20 May 2025 (a correction)."""
    claim = make_claim(kind=Kind.FACT, slug=slug, said_on=date(2025, 5, 1))
    record_verdict(claim=claim, status=get_status("true"), summary="First look.", published_at=at(10))
    record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="Second look.",
        correction_note="New figures.",
        published_at=at(20),
    )
    return claim


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [item["slug"] for item in response.json()["results"]]


# --- the seed data ----------------------------------------------------------------------------------------


@pytest.fixture
def seed(db, today):
    call_command("load_default_data", verbosity=0)
    return Claim.objects.get(slug=TALKS)


def test_before_any_verdict_the_seed_claims_are_absent(client, seed):
    assert slugs(client.get("/api/v1/claims/?as_of=2025-05-18")) == []
    assert client.get(f"/api/v1/claims/{seed.pk}/?as_of=2025-05-18").status_code == 404
    assert client.get(f"/claims/{TALKS}/?as_of=2025-05-18").status_code == 404
    assert claim_links(get_html(client, "/claims/?as_of=2025-05-18")) == []


def test_after_the_first_verdict_a_seed_claim_has_its_status_then_and_is_overdue_only_after_its_due_date(
    client, seed
):
    on_the_day = client.get(f"/api/v1/claims/{seed.pk}/?as_of=2025-05-19").json()
    after_due = client.get(f"/api/v1/claims/{seed.pk}/?as_of=2025-05-27").json()

    assert on_the_day["status"]["slug"] == "open"
    assert on_the_day["status_changed_at"] == "2025-05-19T22:03:00Z"
    assert (on_the_day["overdue"], on_the_day["overdue_since"]) == (False, None)
    assert (after_due["overdue"], after_due["overdue_since"]) == (True, "2025-05-27")
    assert len(on_the_day["verdicts"]) == 1
    assert TALKS in slugs(client.get("/api/v1/claims/?as_of=2025-05-20&page_size=50"))
    assert TALKS not in slugs(client.get("/api/v1/claims/?as_of=2025-05-26&overdue=true"))
    assert slugs(client.get("/api/v1/claims/?as_of=2025-05-27&overdue=true")) == [TALKS]


def test_the_seed_claim_page_as_of_a_day_says_so_links_to_now_and_is_not_indexed(client, seed):
    html = get_html(client, f"/claims/{TALKS}/?as_of=2025-05-20")

    assert '<meta name="robots" content="noindex">' in html
    assert f'<link rel="canonical" href="http://testserver/claims/{TALKS}/">' in html
    assert 'As of <time datetime="2025-05-20">20 May 2025</time>:' in html
    assert f'<a href="/claims/{TALKS}/">See the claim as it stands now</a>' in html
    assert "application/ld+json" not in html
    assert "— 6 days left." in html
    # The page as it stands now carries its ClaimReview, and says the claim is overdue.
    now = get_html(client, f"/claims/{TALKS}/")
    assert "application/ld+json" in now and "overdue since" in now


# --- a claim re-rated -------------------------------------------------------------------------------------


def test_a_claim_as_of_a_day_has_the_status_and_timeline_published_by_the_end_of_it(client, statuses, today):
    claim = rerated_fact()

    before = client.get(f"/api/v1/claims/{claim.pk}/?as_of=2025-05-19").json()
    after = client.get(f"/api/v1/claims/{claim.pk}/?as_of=2025-05-20").json()
    now = client.get(f"/api/v1/claims/{claim.pk}/").json()

    assert before["status"]["slug"] == "true"
    assert before["status_changed_at"] == "2025-05-10T12:00:00Z"
    assert [v["summary"] for v in before["verdicts"]] == ["First look."]
    assert before["corrections"] == []
    assert after["status"]["slug"] == "false"
    assert [v["summary"] for v in after["verdicts"]] == ["Second look.", "First look."]
    # The correction of the rating is stamped with the database's clock (today), not the verdict's
    # backdated time: it was not published by 20 May 2025.
    assert after["corrections"] == []
    assert len(now["corrections"]) == 1
    assert (now["status"], now["verdicts"]) == (after["status"], after["verdicts"])


def test_the_claim_page_as_of_a_day_shows_the_status_and_verdicts_then(client, statuses, today):
    claim = rerated_fact()

    html = get_html(client, f"{claim.get_absolute_url()}?as_of=2025-05-15")

    status_line = re.search(r'<p class="status-line">(.*?)</p>', html, re.S)[1]
    assert ">True<" in status_line and '<time datetime="2025-05-10T12:00:00+00:00">' in status_line
    assert "First look." in html and "Second look." not in html
    assert 'id="corrections-heading"' not in html


def test_the_status_filter_reads_the_status_of_the_day(client, statuses, today):
    rerated_fact()

    assert slugs(client.get("/api/v1/claims/?as_of=2025-05-15&status=true")) == ["rerated"]
    assert slugs(client.get("/api/v1/claims/?as_of=2025-05-15&status=false")) == []
    assert slugs(client.get("/api/v1/claims/?status=false")) == ["rerated"]
    assert claim_links(get_html(client, "/claims/?as_of=2025-05-15&status=true")) == ["rerated"]


def test_the_end_of_the_day_is_the_site_time_zones(client, statuses, today, settings):
    settings.TIME_ZONE = "America/New_York"
    claim = make_claim(kind=Kind.FACT, said_on=date(2025, 5, 1))
    # 02:00 UTC on 20 May is 22:00 on 19 May in New York.
    record_verdict(claim=claim, status=get_status("true"), summary="Late.", published_at=at(20, hour=2))

    assert client.get(f"/api/v1/claims/{claim.pk}/?as_of=2025-05-19").status_code == 200
    assert client.get(f"/api/v1/claims/{claim.pk}/?as_of=2025-05-18").status_code == 404


# --- the list's order and its cursors ---------------------------------------------------------------------


def test_the_list_as_of_a_day_is_ordered_and_paged_by_the_status_changes_of_that_day(client, statuses, today):
    first = make_claim(kind=Kind.FACT, slug="first", said_on=date(2025, 5, 1))
    second = make_claim(kind=Kind.FACT, slug="second", said_on=date(2025, 5, 1))
    record_verdict(claim=first, status=get_status("true"), summary="A.", published_at=at(10))
    record_verdict(claim=second, status=get_status("true"), summary="B.", published_at=at(12))
    record_verdict(
        claim=first,
        status=get_status("false"),
        summary="A again.",
        correction_note="No.",
        published_at=at(20),
    )

    assert slugs(client.get("/api/v1/claims/")) == ["first", "second"]
    assert slugs(client.get("/api/v1/claims/?as_of=2025-05-15")) == ["second", "first"]
    page = client.get("/api/v1/claims/?as_of=2025-05-15&page_size=1").json()
    assert [item["slug"] for item in page["results"]] == ["second"]
    following = client.get(page["next"]).json()
    assert [item["slug"] for item in following["results"]] == ["first"]
    assert following["next"] is None
    # A cursor holds a position in its own order: today's list's cursor is refused as of a day, and back.
    todays_cursor = client.get("/api/v1/claims/?page_size=1").json()["next"].split("cursor=")[1]
    as_of_cursor = page["next"].split("cursor=")[1]
    assert parameter_errors(client.get(f"/api/v1/claims/?as_of=2025-05-15&cursor={todays_cursor}")) == {
        "cursor": ["Invalid or expired cursor."]
    }
    assert client.get(f"/api/v1/claims/?cursor={as_of_cursor}").status_code == 400
    assert claim_links(get_html(client, "/claims/?as_of=2025-05-15")) == ["second", "first"]


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "Must be a date as YYYY-MM-DD."),
        ("2025-02-30", "Must be a date as YYYY-MM-DD."),
        ("2026-11-27", "Must be today (2026-11-26) or earlier: the status of a day to come is not known."),
        ("1899-12-31", "Must be 1900-01-01 or later."),
    ],
)
def test_a_bad_as_of_is_a_400_naming_it_in_the_api_and_a_note_on_the_page(
    client, statuses, today, value, message
):
    claim = rerated_fact()

    assert parameter_errors(client.get(f"/api/v1/claims/?as_of={value}")) == {"as_of": [message]}
    assert parameter_errors(client.get(f"/api/v1/claims/{claim.pk}/?as_of={value}")) == {"as_of": [message]}
    page = get_html(client, f"{claim.get_absolute_url()}?as_of={value}", status=400)
    assert f"could not be used: {message} This is the claim as it stands now." in page
    assert '<meta name="robots" content="noindex">' in page
    listed = get_html(client, f"/claims/?as_of={value}")
    assert f"{message} No claims match." in listed


def test_today_is_a_day_as_of_which_to_ask(client, statuses, today):
    claim = rerated_fact()

    assert client.get(f"/api/v1/claims/{claim.pk}/?as_of=2026-11-26").json()["status"]["slug"] == "false"


# --- query counts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 30])
def test_as_of_a_day_a_list_page_is_one_query_a_claim_two_and_its_page_two(
    client, statuses, today, django_assert_num_queries, count
):
    claims = make_rated_claims(count, published_at=at(10))
    record_verdict(
        claim=claims[0],
        status=get_status("false"),
        summary="Later.",
        correction_note="No.",
        published_at=at(20),
    )

    with django_assert_num_queries(SITE_CLOCK + 1):
        listed = client.get("/api/v1/claims/?as_of=2025-05-15&overdue=false")
    with django_assert_num_queries(SITE_CLOCK + 2):
        detail = client.get(f"/api/v1/claims/{claims[0].pk}/?as_of=2025-05-15")
    with django_assert_num_queries(SITE_CLOCK + 2):
        page = client.get(f"{claims[0].get_absolute_url()}?as_of=2025-05-15")
    with django_assert_num_queries(SITE_CLOCK + 2):
        list_page = client.get("/claims/?as_of=2025-05-15")

    assert len(listed.json()["results"]) == min(count, 20)
    assert detail.json()["status"]["slug"] == "true"
    assert page.status_code == 200 and "Later." not in page.content.decode()
    assert len(claim_links(list_page.content.decode())) == min(count, 20)
