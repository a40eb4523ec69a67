"""Overdue: a promise or prediction past its due date while its status is open (claims.models.overdue_condition),
reckoned from today in the site's time zone, never stored. On the claim page, in the lists, on the home page, in
the API and in the admin. Today is moved with the `set_today` fixture (tests/conftest.py).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import RequestFactory

from claims.models import Claim, Kind
from claims.templatetags.review_queue import overdue_queue
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_speaker,
    make_user,
)
from tests.test_api_errors import parameter_errors
from tests.test_pages import claim_links, get_html

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)


def promise(due_on: date | None, status: str = "open", **fields) -> Claim:
    """A published promise due on `due_on`, rated `status`."""
    return make_rated_claim(
        status=get_status(status), kind=Kind.PROMISE, said_on=date(2025, 5, 19), due_on=due_on, **fields
    )


@pytest.fixture
def today(set_today):
    set_today(TODAY)
    return TODAY


# --- the rule, at its boundaries --------------------------------------------------------------------------


def test_due_yesterday_is_overdue_due_today_is_not_and_a_settled_status_a_fact_or_a_draft_never(
    client, statuses, today
):
    yesterday = promise(date(2026, 11, 25), slug="due-yesterday")
    in_progress = promise(date(2025, 6, 1), "in-progress", slug="in-progress-late")
    prediction = make_rated_claim(
        status=get_status("open"),
        kind=Kind.PREDICTION,
        said_on=date(2025, 5, 19),
        due_on=date(2025, 6, 1),
        slug="prediction-late",
    )
    promise(TODAY, slug="due-today")
    promise(date(2026, 12, 1), slug="due-later")
    promise(date(2025, 6, 1), "kept", slug="kept-late")
    promise(date(2025, 6, 1), "broken", slug="broken-late")
    promise(None, slug="no-due-date")
    make_rated_claim(status=get_status("false"), kind=Kind.FACT, slug="a-fact")
    make_claim(kind=Kind.PROMISE, due_on=date(2025, 6, 1), slug="unpublished")

    overdue = {item["slug"]: item for item in client.get("/api/v1/claims/?page_size=50").json()["results"]}

    assert {slug for slug, item in overdue.items() if item["overdue"]} == {
        "due-yesterday",
        "in-progress-late",
        "prediction-late",
    }
    assert overdue["due-yesterday"]["overdue_since"] == "2026-11-26"
    assert overdue["in-progress-late"]["overdue_since"] == "2025-06-02"
    assert all(item["overdue_since"] is None for item in overdue.values() if not item["overdue"])
    assert "unpublished" not in overdue
    assert set(Claim.objects.overdue()) == {yesterday, in_progress, prediction}


# --- the claim page ---------------------------------------------------------------------------------------


def test_the_claim_page_says_since_when_a_claim_is_overdue(client, statuses, today):
    claim = promise(date(2025, 5, 26))

    html = get_html(client, claim.get_absolute_url())

    assert 'Due <time datetime="2025-05-26">26 May 2025</time> — <span class="overdue">overdue since ' in html
    assert '<time datetime="2025-05-27">27 May 2025</time>' in html
    assert "not yet due" not in html.lower()


@pytest.mark.parametrize(
    ("due_on", "said"),
    [(date(2026, 12, 6), "— 10 days left."), (date(2026, 11, 27), "— 1 day left."), (TODAY, "— due today.")],
)
def test_the_claim_page_counts_the_days_left_before_the_due_date(client, statuses, today, due_on, said):
    html = get_html(client, promise(due_on).get_absolute_url())

    due_line = re.search(r'<p class="due-line">(.*?)</p>', html, re.S)[1]
    assert due_line.endswith(said)
    assert "overdue" not in due_line


def test_a_settled_claim_page_gives_only_its_due_date(client, statuses, today):
    html = get_html(client, promise(date(2025, 5, 26), "broken").get_absolute_url())

    due_line = re.search(r'<p class="due-line">(.*?)</p>', html, re.S)[1]
    assert due_line == 'Due <time datetime="2025-05-26">26 May 2025</time>'


def test_the_seed_prediction_of_talks_beginning_immediately_is_overdue_in_november_2026(client, db, today):
    call_command("load_default_data", verbosity=0)

    html = get_html(client, "/claims/trump-ceasefire-talks-begin-immediately/")
    item = client.get("/api/v1/claims/?overdue=true").json()["results"]

    assert 'overdue since <time datetime="2025-05-27">27 May 2025</time>' in html
    assert "not yet due" not in html.lower()
    assert [claim["slug"] for claim in item] == ["trump-ceasefire-talks-begin-immediately"]
    assert item[0]["overdue_since"] == "2025-05-27"


# --- lists ------------------------------------------------------------------------------------------------


def test_lists_mark_overdue_claims_with_a_badge(client, statuses, today):
    ada = make_speaker(slug="ada")
    late = promise(date(2025, 6, 1), speaker=ada, slug="late")
    promise(date(2027, 1, 1), speaker=ada, slug="on-time")

    for url in ("/claims/", ada.get_absolute_url()):
        rows = re.findall(r'<li class="claim-row">(.*?)</li>', get_html(client, url), re.S)
        badged = [re.search(r'href="/claims/([^/]+)/"', row)[1] for row in rows if "badge-overdue" in row]
        assert badged == [late.slug], url


def test_the_claim_list_filters_overdue_claims_and_due_dates(client, statuses, today):
    promise(date(2025, 6, 1), slug="late")
    promise(date(2027, 1, 1), slug="on-time")
    promise(date(2025, 6, 1), "kept", slug="kept")

    assert claim_links(get_html(client, "/claims/?overdue=true")) == ["late"]
    assert set(claim_links(get_html(client, "/claims/?overdue=false"))) == {"on-time", "kept"}
    assert set(claim_links(get_html(client, "/claims/?due_before=2025-06-01"))) == {"late", "kept"}
    assert claim_links(get_html(client, "/claims/?due_after=2025-06-02")) == ["on-time"]
    form = get_html(client, "/claims/?overdue=true")
    assert '<input id="filter-overdue" type="checkbox" name="overdue" value="true" checked>' in form
    bad = get_html(client, "/claims/?overdue=maybe")
    assert "Must be true or false. No claims match." in bad and claim_links(bad) == []


@pytest.mark.parametrize("count", [1, 25])
def test_the_overdue_claim_list_costs_two_queries(client, statuses, today, django_assert_num_queries, count):
    make_rated_claims(
        count, status=get_status("open"), kind=Kind.PROMISE, said_on=date(2025, 5, 1), due_on=date(2025, 6, 1)
    )

    with django_assert_num_queries(SITE_CLOCK + 2):
        html = get_html(client, "/claims/?overdue=true&due_before=2025-12-31")

    assert len(claim_links(html)) == min(count, 20)
    assert html.count("badge-overdue") == min(count, 20)


# --- the home page ----------------------------------------------------------------------------------------


def home_overdue(html: str) -> str:
    return re.search(r'<section aria-labelledby="overdue-heading".*?</section>', html, re.S)[0]


def test_the_home_page_lists_the_longest_overdue_claims_with_a_count(client, statuses, today):
    for day in (3, 1, 5, 2, 4, 6):
        promise(date(2025, 6, day), slug=f"due-june-{day}")
    promise(date(2027, 1, 1), slug="not-due")

    section = home_overdue(get_html(client, "/"))

    assert claim_links(section) == [f"due-june-{day}" for day in (1, 2, 3, 4, 5)]
    assert "6 promises and predictions past their due date" in section
    assert 'href="/claims/?overdue=true"' in section


def test_the_home_page_caps_its_overdue_count(client, statuses, today, monkeypatch):
    monkeypatch.setattr("claims.views.OVERDUE_COUNT_CAP", 3)
    for day in range(1, 6):
        promise(date(2025, 6, day))

    assert "More than 3 promises and predictions" in home_overdue(get_html(client, "/"))


def test_the_home_page_says_when_nothing_is_overdue(client, statuses, today):
    promise(date(2027, 1, 1))

    assert "No promise or prediction is overdue." in home_overdue(get_html(client, "/"))


@pytest.mark.parametrize("count", [1, 12])
def test_the_home_page_with_overdue_claims_costs_three_queries(
    client, statuses, today, django_assert_num_queries, count
):
    make_rated_claims(
        count, status=get_status("open"), kind=Kind.PROMISE, said_on=date(2025, 5, 1), due_on=date(2025, 6, 1)
    )

    with django_assert_num_queries(SITE_CLOCK + 3):
        section = home_overdue(get_html(client, "/"))

    assert len(claim_links(section)) == min(count, 5)


# --- the API ----------------------------------------------------------------------------------------------


def slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["results"]]


def test_the_api_filters_overdue_claims_and_due_dates(client, statuses, today):
    promise(date(2025, 6, 1), slug="late")
    promise(date(2027, 1, 1), slug="on-time")
    make_rated_claim(status=get_status("true"), slug="a-fact")

    assert slugs(client.get("/api/v1/claims/?overdue=true")) == ["late"]
    assert set(slugs(client.get("/api/v1/claims/?overdue=false"))) == {"on-time", "a-fact"}
    assert slugs(client.get("/api/v1/claims/?due_before=2025-06-01")) == ["late"]
    assert slugs(client.get("/api/v1/claims/?due_after=2025-06-02&due_before=2027-01-01")) == ["on-time"]
    detail = client.get(f"/api/v1/claims/{Claim.objects.get(slug='late').pk}/").json()
    assert (detail["overdue"], detail["overdue_since"]) == (True, "2025-06-02")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ("overdue=yes", "overdue", "Must be true or false."),
        ("overdue=1", "overdue", "Must be true or false."),
        ("due_before=soon", "due_before", "Enter a valid date."),
        ("due_after=2025-02-30", "due_after", "Enter a valid date."),
    ],
)
def test_a_bad_overdue_or_due_date_parameter_is_a_400_naming_it(client, statuses, params, field, message):
    assert parameter_errors(client.get(f"/api/v1/claims/?{params}")) == {field: [message]}


@pytest.mark.parametrize("count", [1, 30])
def test_the_overdue_api_list_is_one_query_and_a_claim_two(
    client, statuses, today, django_assert_num_queries, count
):
    claims = make_rated_claims(
        count, status=get_status("open"), kind=Kind.PROMISE, said_on=date(2025, 5, 1), due_on=date(2025, 6, 1)
    )

    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get("/api/v1/claims/?overdue=true&due_after=2025-01-01")
    with django_assert_num_queries(SITE_CLOCK + 2):
        detail = client.get(f"/api/v1/claims/{claims[0].pk}/")

    assert len(response.json()["results"]) == min(count, 20)
    assert all(item["overdue"] for item in response.json()["results"])
    assert detail.json()["overdue"] is True


# --- the admin --------------------------------------------------------------------------------------------


def test_the_admin_claim_list_filters_overdue_claims(client, statuses, today):
    late = promise(date(2025, 6, 1), text="A late promise.")
    promise(date(2027, 1, 1), text="A promise on time.")
    client.force_login(make_user(is_staff=True, is_superuser=True))

    overdue = client.get("/admin/claims/claim/?overdue=yes").content.decode()
    others = client.get("/admin/claims/claim/?overdue=no").content.decode()

    assert "A late promise." in overdue and "A promise on time." not in overdue
    assert "A promise on time." in others and "A late promise." not in others
    assert f'href="/admin/claims/claim/{late.pk}/change/' in overdue


def overdue_module(html: str) -> str:
    found = re.search(r'<div class="module" id="overdue-queue">.*?</div>', html, re.S)
    return found[0] if found else ""


def test_the_admin_index_queues_overdue_claims_oldest_due_first(client, statuses, today):
    newer = promise(date(2026, 11, 1), text="Due in November.")
    older = promise(date(2025, 5, 26), text="Due in May last year.")
    promise(date(2025, 5, 26), "broken", text="Settled.")
    promise(date(2027, 1, 1), text="Not due.")
    client.force_login(make_user(is_staff=True, is_superuser=True))

    queue = overdue_module(client.get("/admin/").content.decode())

    assert "Overdue — needs a verdict (2)" in queue
    rows = re.findall(r"<tr>.*?</tr>", queue, re.S)[1:]
    assert [re.search(r'href="([^"]+)"', row)[1] for row in rows] == [
        f"/admin/claims/claim/{older.pk}/change/",
        f"/admin/claims/claim/{newer.pk}/change/",
    ]
    assert '<time datetime="2025-05-26">26 May 2025</time>' in rows[0]
    assert ">1\xa0year<" in rows[0] and "Overdue since 27 May 2025" in rows[0]
    assert ">3\xa0weeks<" in rows[1]
    assert "Settled." not in queue and "Not due." not in queue


def test_the_overdue_queue_is_hidden_from_those_who_may_not_view_claims(client, statuses, today):
    promise(date(2025, 5, 26))
    request = RequestFactory().get("/admin/")
    request.user = AnonymousUser()

    assert overdue_queue({"request": request}) == {"shown": False}


@pytest.mark.parametrize("count", [1, 30])
def test_the_overdue_queue_is_one_query(statuses, today, django_assert_num_queries, count):
    make_rated_claims(
        count, status=get_status("open"), kind=Kind.PROMISE, said_on=date(2025, 5, 1), due_on=date(2025, 6, 1)
    )
    request = RequestFactory().get("/admin/")
    request.user = make_user(is_staff=True, is_superuser=True)

    with django_assert_num_queries(1):
        queue = overdue_queue({"request": request})

    assert queue["total"] == count
    assert len(queue["claims"]) == min(count, 20)
    assert queue["more"] is (count > 20)
