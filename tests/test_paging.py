"""Paging by cursor, on the API and the public pages: every row once, in order, however many rows tie on the
first key of a list's order; and any cursor we did not make is a 400 (API) or a 404 (page), never a 500.

The lists share one data set, built once for this module inside a transaction that is rolled back at the
end: more claims than DRF's 1,000-row offset cap, all published at the same moment, with the same text (so
the same search rank), by speakers of the same name, from sources of the same date.
"""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import quote, urlencode

import pytest
from django.core import signing
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from claims.pagination import CURSOR_SALT
from tests.factories import SITE_CLOCK, make_rated_claims
from tests.test_api_errors import parameter_errors

# DRF's cursor capped its offset into a tie at 1,000: more than 1,000 + PAGE tied rows made it loop.
TIES = 1_050
PAGE = 40
INVALID = {"cursor": ["Invalid or expired cursor."]}


@pytest.fixture(scope="module")
def tied(django_db_setup, django_db_blocker):
    """TIES claims tied on every first key, plus two sources dated later and two undated (for their order)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("loaddata", "statuses", verbosity=0)
        moment = timezone.now()
        claims = make_rated_claims(
            TIES,
            published_at=moment,
            text="The ceasefire holds.",
            speaker_fields={"name": "Ada Same"},
            source_fields={"published_on": date(2025, 5, 19)},
        )
        later = make_rated_claims(
            2, published_at=moment, text="Talks.", source_fields={"published_on": date(2025, 6, 1)}
        )
        undated = make_rated_claims(
            2, published_at=moment, text="Talks.", source_fields={"published_on": None}
        )
        yield {"ceasefire": claims, "later": later, "undated": undated}
        transaction.set_rollback(True)


def follow_api(client, url: str, link: str = "next") -> tuple[list[dict], dict]:
    """Every item from url on, following `link`; stops (failing) after more pages than the rows need."""
    items: list[dict] = []
    for _ in range(TIES // PAGE + 5):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        items += body["results"] if link == "next" else list(reversed(body["results"]))
        if body[link] is None:
            return items, body
        url = body[link]
    pytest.fail(f"still a {link} link after {len(items)} items: the cursor loops")


def follow_pages(client, url: str) -> list[str]:
    """Every claim slug a public list shows from url on, following its rel=next links."""
    slugs: list[str] = []
    for _ in range(TIES // PAGE + 5):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        slugs += re.findall(r'<a class="claim-text" href="/claims/([^/"]+)/">', html)
        older = re.search(r'<a href="([^"]+)" rel="next">', html)
        if older is None:
            return slugs
        url = unescape(older.group(1))
    pytest.fail(f"still a next link after {len(slugs)} claims: the cursor loops")


# Every row once ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_claims_api_visits_every_claim_once_through_a_tie_of_more_than_1000(client, tied):
    every = sorted((c.id for c in tied["ceasefire"] + tied["later"] + tied["undated"]), reverse=True)

    items, last = follow_api(client, f"/api/v1/claims/?page_size={PAGE}")
    back, first = follow_api(client, last["previous"], link="previous")

    assert [item["id"] for item in items] == every  # ties broken by id, latest first
    assert [item["id"] for item in reversed(back)] == every[: len(back)]
    assert len(back) == len(every) - len(last["results"])
    assert first["previous"] is None


@pytest.mark.django_db
def test_a_search_visits_every_match_once_through_a_tie_of_ranks(client, tied):
    every = sorted((c.id for c in tied["ceasefire"]), reverse=True)

    items, _ = follow_api(client, f"/api/v1/claims/?q=ceasefire&page_size={PAGE}")

    assert [item["id"] for item in items] == every


@pytest.mark.django_db
def test_the_claim_list_page_visits_every_claim_once_through_a_tie(client, tied):
    every = tied["ceasefire"] + tied["later"] + tied["undated"]

    slugs = follow_pages(client, f"/claims/?page_size={PAGE}")

    assert slugs == [c.slug for c in sorted(every, key=lambda c: c.id, reverse=True)]


@pytest.mark.django_db
def test_the_speakers_api_visits_every_speaker_once_through_a_tie_of_names(client, tied):
    same = sorted(c.speaker_id for c in tied["ceasefire"])

    items, _ = follow_api(client, f"/api/v1/speakers/?page_size={PAGE}")

    assert [item["id"] for item in items if item["name"] == "Ada Same"] == same
    assert len(items) == len({item["id"] for item in items}) == TIES + 4


@pytest.mark.django_db
def test_the_sources_api_visits_every_source_once_newest_first_undated_last(client, tied):
    def newest_first(claims):
        return sorted((c.source_id for c in claims), reverse=True)

    items, _ = follow_api(client, f"/api/v1/sources/?page_size={PAGE}")

    assert [item["id"] for item in items] == (
        newest_first(tied["later"]) + newest_first(tied["ceasefire"]) + newest_first(tied["undated"])
    )


@pytest.mark.django_db
def test_a_page_of_a_tie_deep_in_the_list_is_still_one_query(client, tied, django_assert_num_queries):
    url = f"/api/v1/claims/?page_size={PAGE}"
    for _ in range(10):
        url = client.get(url).json()["next"]

    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get(url)

    assert len(response.json()["results"]) == PAGE


# Cursors we did not make -------------------------------------------------------------------------------


def drf_cursor(**fields: str) -> str:
    """A cursor in the format of DRF's CursorPagination, which this project used before."""
    return base64.b64encode(urlencode(fields).encode("latin-1")).decode()


def signed(payload: object) -> str:
    """A cursor signed with our key but holding what we never write: strict validation must refuse it."""
    return signing.dumps(payload, salt=CURSOR_SALT)


class RawJSON:
    """A signing serializer that signs the bytes it is given as they are, even what is not JSON."""

    def dumps(self, payload: bytes) -> bytes:
        return payload

    def loads(self, data: bytes) -> bytes:
        return data


def raw_signed(payload: bytes) -> str:
    """A cursor signed with our key whose payload is exactly these bytes."""
    return signing.dumps(payload, salt=CURSOR_SALT, serializer=RawJSON)


FORGED = [
    "not-a-cursor",
    "%%%",
    drf_cursor(p="2025-01-01 00:00:00+00:00"),
    drf_cursor(p="2025-01-01T00:00:00+99:00"),  # an out-of-range offset: a 500 before
    drf_cursor(p="2025-01-01T00:00:00+23:59:60"),
    drf_cursor(p="a\x00b"),  # a NUL byte inside the decoded cursor: a 500 before
    drf_cursor(o="-1"),
    drf_cursor(r="1", p="2999-01-01 00:00:00+00:00"),
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00", 1]])[:-2] + "xx",  # tampered signature
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00"]]),  # wrong arity
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00", 1, 2]]),
    signed(["claims", "f", ["2025-01-01T00:00:00", 1]]),  # no offset
    signed(["claims", "f", ["2025-01-01T00:00:00+99:00", 1]]),
    # In UTC, after the year 9999: PostgreSQL would store it, Python could not read it back.
    signed(["claims", "f", ["9999-12-31T23:59:59-23:59", 1]]),
    signed(["claims", "f", ["0001-01-01T00:00:00+23:59", 1]]),
    raw_signed(b"[" * 5000 + b"]" * 5000),  # deeper than Python's JSON parser goes
    raw_signed(b'["claims", "f", ['),
    signed(["claims", "f", ["a\x00b", 1]]),
    signed(["claims", "f", [20250101, 1]]),  # wrong types
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00", "1"]]),
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00", True]]),
    signed(["claims", "f", ["2025-01-01T00:00:00+00:00", 2**63]]),
    signed(["claims", "x", ["2025-01-01T00:00:00+00:00", 1]]),
    signed(["speakers", "f", ["Ada", 1]]),  # another list's cursor
    signed({"claims": 1}),
    signed(None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", FORGED)
def test_a_cursor_we_did_not_make_is_a_400_in_the_api(client, statuses, cursor):
    make_rated_claims(2)

    for path in ("/api/v1/claims/", "/api/v1/claims/?q=claim&"):
        response = client.get(path + ("&" if "?" in path else "?") + "cursor=" + quote(cursor))
        assert parameter_errors(response) == INVALID, path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/v1/speakers/", signed(["speakers", "f", ["a\x00b", 1]])),
        ("/api/v1/speakers/", signed(["speakers", "f", ["x" * 1001, 1]])),
        ("/api/v1/speakers/", signed(["speakers", "f", ["a\ud800b", 1]])),  # a lone surrogate
        ("/api/v1/speakers/", signed(["speakers", "f", ["\udc00", 1]])),
        ("/api/v1/speakers/", drf_cursor(p="a\x00b")),
        ("/api/v1/sources/", signed(["sources", "f", ["2025-02-30", 1]])),
        ("/api/v1/sources/", signed(["sources", "b", ["2025-01-01T00:00:00+00:00", 1]])),
        ("/api/v1/sources/", signed(["search", "f", [0.5, "2025-01-01T00:00:00+00:00", 1]])),
        ("/api/v1/claims/?q=claim&", signed(["search", "f", [float("nan"), "2025-01-01T00:00:00+00:00", 1]])),
        ("/api/v1/claims/?q=claim&", signed(["search", "f", ["0.5", "2025-01-01T00:00:00+00:00", 1]])),
    ],
)
def test_a_cursor_we_did_not_make_is_a_400_on_every_list(client, statuses, path, cursor):
    make_rated_claims(2)

    response = client.get(path + ("&" if "?" in path else "?") + "cursor=" + quote(cursor))

    assert parameter_errors(response) == INVALID


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", FORGED)
def test_a_cursor_we_did_not_make_is_a_404_on_pages(client, statuses, cursor):
    [claim] = make_rated_claims(1)

    for path in ("/claims/?", "/claims/?q=claim&", f"/speakers/{claim.speaker.slug}/?"):
        assert client.get(f"{path}cursor={quote(cursor)}").status_code == 404, path


@pytest.mark.django_db
def test_a_cursor_time_with_an_offset_postgresql_refuses_is_read_as_the_same_instant_in_utc(client, statuses):
    first, second = make_rated_claims(2)
    in_utc = second.status_changed_at.isoformat()
    # The same instant, 20 hours ahead of UTC: Python reads the offset, PostgreSQL would refuse it.
    ahead = second.status_changed_at.astimezone(timezone.get_fixed_timezone(20 * 60)).isoformat()
    assert ahead.endswith("+20:00")

    def listed(at: str) -> list[int]:
        cursor = quote(signed(["claims", "f", [at, second.id]]))
        return [
            row["id"]
            for row in client.get(f"/api/v1/claims/?cursor={cursor}&page_size=100").json()["results"]
        ]

    assert listed(ahead) == listed(in_utc)
    assert first.id in listed(ahead)
    assert second.id not in listed(ahead)
    page = client.get("/claims/?cursor=" + quote(signed(["claims", "f", [ahead, second.id]])))
    assert page.status_code == 200


@pytest.mark.django_db
def test_a_cursor_of_ours_past_the_last_claim_is_an_empty_page_in_the_api_and_a_404_on_pages(
    client, statuses
):
    make_rated_claims(2)
    future = (timezone.now() - timedelta(days=3650)).isoformat()
    past_the_end = signed(["claims", "f", [future, 1]])

    body = client.get(f"/api/v1/claims/?cursor={quote(past_the_end)}").json()

    assert body == {"next": None, "previous": None, "results": []}
    assert client.get(f"/claims/?cursor={quote(past_the_end)}").status_code == 404


# Numbers -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        ("/api/v1/claims/?page_size=", "page_size", "Must be a whole number from 1 to 100."),
        ("/api/v1/speakers/?page_size=", "page_size", "Must be a whole number from 1 to 100."),
        ("/api/v1/changes/?page_size=", "page_size", "Must be a whole number from 1 to 1000."),
        ("/api/v1/changes/?after=", "after", "Must be a whole number from 0 to 9223372036854775807."),
    ],
)
def test_a_number_of_thousands_of_digits_is_a_400(client, statuses, path, name, message):
    make_rated_claims(1)

    response = client.get(path + "9" * 5000)

    assert parameter_errors(response) == {name: [message]}


@pytest.mark.django_db
def test_a_page_size_of_thousands_of_digits_on_a_page_is_the_default_size(client, statuses):
    make_rated_claims(21)

    html = client.get("/claims/?page_size=" + "9" * 5000).content.decode()

    assert html.count('<a class="claim-text"') == 20
