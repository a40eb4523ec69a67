"""A search's order at scale: best match first within windows of the latest matches (claims.pagination's
SearchWindows), paged exactly: every match once, forward and back, on the API and the public page, one query
a page, whichever way the candidates are found (the walk down the latest index for a word most claims hold,
the GIN index for a rarer one).

The window is set small (SEARCH_WINDOW) so that a few dozen claims span several windows; the order expected
is computed here from the ranks PostgreSQL gives: the matches by latest status change, cut into windows,
each sorted by (rank, status_changed_at, id), best first.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.core import signing
from django.utils import timezone

from claims.models import Claim
from claims.pagination import CURSOR_SALT, SEARCH_WALK, latest_matches
from tests.factories import SITE_CLOCK, make_rated_claims
from tests.test_api_errors import parameter_errors

pytestmark = pytest.mark.django_db

WINDOW = 5
CLAIMS = 23
INVALID = {"cursor": ["Invalid or expired cursor."]}


@pytest.fixture
def window(settings):
    settings.SEARCH_WINDOW = WINDOW
    return WINDOW


@pytest.fixture
def claims(statuses):
    """CLAIMS claims published a minute apart, all saying "ceasefire" (once to four times: four ranks, each
    held by several claims, so ranks tie across and within windows); every third also says "grain" (once
    to three times).
    After every other one, a claim that matches neither (so the walk down the latest claims finds more
    "ceasefire" than a page needs, and fewer "grain"). Two pairs are published at the same moment (a tie on
    time).
    """
    start = timezone.now() - timedelta(days=1)
    made = []
    for n in range(CLAIMS):
        words = " ".join(["ceasefire"] * (n % 4 + 1) + (["grain"] * (n // 3 % 3 + 1) if n % 3 == 0 else []))
        moment = start + timedelta(minutes=n - (n in (7, 15)))
        made += make_rated_claims(1, text=f"The {words} holds.", published_at=moment)
        if n % 2 == 0:
            make_rated_claims(1, text="Talks about talks.", published_at=moment)
    return made


def expected(q: str, window: int) -> list[int]:
    """The ids of the matches in the order the design promises, computed from their ranks."""
    matches = list(
        Claim.objects.published()
        .search(q)
        .order_by("-status_changed_at", "-id")
        .values_list("rank", "status_changed_at", "id")
    )
    order: list[int] = []
    for start in range(0, len(matches), window):
        order += [row[2] for row in sorted(matches[start : start + window], reverse=True)]
    return order


def follow(client, url: str, link: str) -> tuple[list[int], dict]:
    """Every claim id from url on, following `link`, in the list's order; fails when the cursor loops."""
    ids: list[int] = []
    for _ in range(CLAIMS + 5):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        page = [item["id"] for item in body["results"]]
        ids += page if link == "next" else list(reversed(page))
        if body[link] is None:
            return (ids if link == "next" else list(reversed(ids))), body
        url = body[link]
    pytest.fail(f"still a {link} link after {len(ids)} claims: the cursor loops")


@pytest.mark.parametrize(("q", "matches"), [("ceasefire", CLAIMS), ("grain", (CLAIMS + 2) // 3)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_every_match_once_forward_and_back_best_first_within_each_window(
    client, window, claims, q, matches, size
):
    order = expected(q, window)
    assert len(order) == matches
    # The windows change the order: plain relevance would put every four-times "ceasefire" first.
    assert order != expected(q, len(order))

    forward, last = follow(client, f"/api/v1/claims/?{urlencode({'q': q, 'page_size': size})}", "next")
    backward, first = follow(client, last["previous"], "previous")

    assert forward == order
    assert backward + [item["id"] for item in last["results"]] == order
    assert first["previous"] is None


def test_a_page_larger_than_the_window_widens_the_window_to_a_page_and_one(client, window, claims):
    size = WINDOW + 2

    forward, last = follow(client, f"/api/v1/claims/?q=ceasefire&page_size={size}", "next")
    backward, _ = follow(client, last["previous"], "previous")

    assert forward == expected("ceasefire", size + 1)
    assert backward + [item["id"] for item in last["results"]] == forward


def test_a_search_with_fewer_matches_than_a_window_is_ranked_as_a_whole(client, claims):
    # The default window (200) holds every match: plain relevance, as before the windows.
    forward, _ = follow(client, "/api/v1/claims/?q=ceasefire&page_size=4", "next")

    assert forward == expected("ceasefire", CLAIMS)
    assert forward[:5] == [claim.id for claim in reversed(claims) if claim.text.count("ceasefire") == 4][:5]


def test_the_public_search_page_shows_every_match_once_in_the_same_order(client, window, claims):
    slugs: list[str] = []
    url = "/claims/?q=ceasefire&page_size=3"
    for _ in range(CLAIMS):
        html = client.get(url).content.decode()
        slugs += re.findall(r'<a class="claim-text" href="/claims/([^/"]+)/">', html)
        older = re.search(r'<a href="([^"]+)" rel="next">', html)
        if older is None:
            break
        url = unescape(older.group(1))
    by_id = dict(Claim.objects.values_list("id", "slug"))

    assert slugs == [by_id[pk] for pk in expected("ceasefire", WINDOW)]


@pytest.mark.parametrize("q", ["ceasefire", "grain"])
def test_a_page_in_a_later_window_is_one_query_either_way(
    client, window, claims, q, django_assert_num_queries
):
    # "ceasefire" is in two of three claims the walk reads (more than one in SEARCH_WALK): found by the walk;
    # "grain" in fewer than one in four: found by the GIN index.
    assert SEARCH_WALK == 2
    url = f"/api/v1/claims/?q={q}&page_size=2"
    # Page 4: matches 7 and 8, in the second window.
    for _ in range(3):
        url = client.get(url).json()["next"]

    with django_assert_num_queries(SITE_CLOCK + 1):
        forward = client.get(url).json()
    with django_assert_num_queries(SITE_CLOCK + 1):
        backward = client.get(forward["previous"]).json()

    assert len(forward["results"]) == 2
    assert len(backward["results"]) == 2


@pytest.mark.parametrize(
    "payload",
    [
        # A cursor of the search's order before the windows: its position alone, no window.
        ["search", "f", [0.5, "2025-01-01T00:00:00+00:00", 1]],
        # A window whose size is not a whole number from 1, or whose bound is not a time.
        [
            "search",
            "f",
            [
                "2025-01-02T00:00:00+00:00",
                2,
                "2025-01-01T00:00:00+00:00",
                1,
                0,
                0.5,
                "2025-01-01T00:00:00+00:00",
                1,
            ],
        ],
        [
            "search",
            "f",
            ["yesterday", 2, "2025-01-01T00:00:00+00:00", 1, 5, 0.5, "2025-01-01T00:00:00+00:00", 1],
        ],
    ],
)
def test_a_search_cursor_we_did_not_write_is_refused(client, window, claims, payload):
    cursor = quote(signing.dumps(payload, salt=CURSOR_SALT))

    assert parameter_errors(client.get(f"/api/v1/claims/?q=ceasefire&cursor={cursor}")) == INVALID
    assert client.get(f"/claims/?q=ceasefire&cursor={cursor}").status_code == 404


def test_a_forged_search_cursor_is_refused(client, window, claims):
    following = client.get("/api/v1/claims/?q=ceasefire&page_size=2").json()["next"]
    payload = signing.loads(parse_qs(urlsplit(following).query)["cursor"][0], salt=CURSOR_SALT)
    # The same position, signed with another key.
    forged = quote(signing.dumps(payload, key="not-our-key-" * 5, salt=CURSOR_SALT))

    assert parameter_errors(client.get(f"/api/v1/claims/?q=ceasefire&cursor={forged}")) == INVALID
    assert client.get(f"/claims/?q=ceasefire&cursor={forged}").status_code == 404


def test_a_search_as_of_a_past_day_still_ranks_every_match_and_pages(client, window, claims):
    day = timezone.localdate().isoformat()
    ranked = (
        Claim.objects.published()
        .search("ceasefire")
        .order_by("-rank", "-status_changed_at", "-id")
        .values_list("id", flat=True)
    )

    forward, _ = follow(client, f"/api/v1/claims/?q=ceasefire&as_of={day}&page_size=4", "next")

    assert forward == list(ranked)


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("q", ["ceasefire", "grain", "talks"])
def test_the_candidates_are_the_first_matches_by_time_however_many_the_walk_finds(claims, q, ascending):
    # For every count, the walk down the latest claims finds all of them, some or none (then the GIN index
    # does): the ids are the same.
    matches = Claim.objects.published().search(q)
    by_time = list(
        matches.order_by(
            *(["status_changed_at", "id"] if ascending else ["-status_changed_at", "-id"])
        ).values_list("id", flat=True)
    )
    for count in range(1, len(by_time) + 2):
        found = Claim.objects.filter(pk__in=latest_matches(matches, None, ascending=ascending, count=count))

        assert sorted(found.values_list("id", flat=True)) == sorted(by_time[:count]), count


def test_the_walk_reads_what_the_other_filters_read(client, window, claims):
    # ?overdue= reads the status through a join, ?kind= a column of the claim: the walked claims carry both.
    url = "/api/v1/claims/?" + urlencode(
        {"q": "ceasefire", "overdue": "false", "kind": "fact", "page_size": 3}
    )

    forward, _ = follow(client, url, "next")

    assert forward == expected("ceasefire", WINDOW)
    assert follow(client, url.replace("overdue=false", "overdue=true"), "next")[0] == []


@pytest.mark.parametrize("q", ["ceasefire", "grain"])
def test_the_candidates_of_the_apis_rows_are_found_without_joining_speakers_sources_or_statuses(claims, q):
    # The API's rows (as_rows) join the speaker, source and status for their columns; the candidates need
    # none of them (claims.pagination._drop_unused_joins), and are the same claims.
    rows = Claim.objects.published().search(q).as_rows()
    by_time = list(
        Claim.objects.published().search(q).order_by("-status_changed_at", "-id").values_list("id", flat=True)
    )
    candidates = latest_matches(rows, None, ascending=False, count=len(by_time) + 1)

    assert not {"claims_speaker", "claims_source", "claims_status"} & set(
        re.findall(r'"(\w+)"', candidates.sql)
    )
    found = Claim.objects.filter(pk__in=candidates).values_list("id", flat=True)
    assert sorted(found) == sorted(by_time)
    assert "claims_speaker" in str(rows.query)  # the rows themselves still join them
