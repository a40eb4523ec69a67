"""One filter for the claim list's page and API (claims.filters.ClaimFilterSet): the same rules and the same
words on both sides, a note on the page and a 400 naming the parameter in the API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from claims.models import Claim
from tests.factories import make_claim, make_rated_claim, make_speaker
from tests.test_api_errors import parameter_errors

pytestmark = pytest.mark.django_db

# Words past the first 1,000 characters of a search are not searched, on either side.
LONG_SEARCH = "nomatch or " * 91 + "ceasefire"


def claim_slugs(html: str) -> list[str]:
    return re.findall(r'<a class="claim-text" href="/claims/([^/"]+)/">', html)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"speaker": "nobody"}, "There is no speaker “nobody” with published claims."),
        ({"speaker": "quiet"}, "There is no speaker “quiet” with published claims."),
        ({"status": "half-true"}, "There is no status “half-true”."),
        ({"kind": "rumour"}, "There is no kind of claim “rumour”."),
        ({"said_on_after": "yesterday"}, "Enter a valid date."),
    ],
)
def test_a_value_the_filter_cannot_use_is_the_same_sentence_on_the_page_and_in_the_api(
    client, statuses, params, message
):
    make_claim(speaker=make_speaker(slug="quiet", name="Quiet Person"))
    make_rated_claim()
    [name] = params

    api = client.get("/api/v1/claims/?" + urlencode(params))
    page = client.get("/claims/?" + urlencode(params))

    assert parameter_errors(api) == {name: [message]}
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{message} No claims match." in html
    assert claim_slugs(html) == []


def test_a_speaker_without_published_claims_is_not_named_on_the_claim_list(client, statuses):
    make_claim(speaker=make_speaker(slug="quiet", name="Quiet Person"))
    make_rated_claim()

    html = client.get("/claims/?speaker=quiet").content.decode()

    assert "Quiet Person" not in html
    assert "<h1>Claims</h1>" in html
    assert 'name="speaker"' not in html


def test_search_text_is_cut_at_1000_characters_on_the_page_and_in_the_api(client, statuses):
    make_rated_claim(text="The ceasefire holds.")

    api = client.get("/api/v1/claims/?" + urlencode({"q": LONG_SEARCH}))
    page = client.get("/claims/?" + urlencode({"q": LONG_SEARCH})).content.decode()

    assert api.json()["results"] == []
    assert claim_slugs(page) == []
    assert f'value="{LONG_SEARCH[:1000]}"' in page
    assert len(client.get("/api/v1/claims/?q=ceasefire").json()["results"]) == 1


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/api/v1/claims/?speakr=ada", ["speakr"]),
        ("/api/v1/claims/?page=2&ordering=id", ["ordering", "page"]),
        ("/api/v1/speakers/?q=ada", ["q"]),
        ("/api/v1/sources/?offset=10", ["offset"]),
        ("/api/v1/statuses/?page_size=5", ["page_size"]),
        ("/api/v1/changes/?after=0&since=1", ["since"]),
    ],
)
def test_an_unknown_parameter_on_an_api_list_is_a_400_naming_it(client, statuses, path, unknown):
    make_rated_claim()

    response = client.get(path)

    body = parameter_errors(response)
    assert sorted(body) == unknown
    assert all(message[0].startswith("Unknown parameter. This list reads: ") for message in body.values())


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/claims/?format=json&page_size=5&cursor=&q=claim&kind=fact",
        "/api/v1/speakers/?format=json&page_size=5",
        "/api/v1/sources/?page_size=5&cursor=",
        "/api/v1/statuses/?format=json",
        "/api/v1/changes/?after=0&page_size=5&format=json",
    ],
)
def test_the_parameters_a_list_reads_are_accepted(client, statuses, path):
    make_rated_claim()

    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("since", "listed"),
    [
        # An offset Python reads but PostgreSQL does not (it stops at ±15:59): the same instant in UTC.
        ("2025-05-20T09:30:00+23:00", True),
        ("2025-05-20T11:00:00-16:00", False),
        # The same instant in UTC falls outside the years 1 to 9999: before (or after) every claim.
        ("0001-01-01T00:00:00+14:00", True),
        ("9999-12-31T23:00:00-14:00", False),
    ],
)
def test_updated_since_with_any_offset_filters_the_page_and_the_api_alike(client, statuses, since, listed):
    claim = make_rated_claim()
    Claim.objects.filter(pk=claim.pk).update(updated_at=datetime(2025, 5, 19, 11, 0, tzinfo=UTC))
    expected = [claim.slug] if listed else []

    api = client.get("/api/v1/claims/?" + urlencode({"updated_since": since}))
    page = client.get("/claims/?" + urlencode({"updated_since": since}))

    assert api.status_code == 200
    assert [row["slug"] for row in api.json()["results"]] == expected
    assert page.status_code == 200
    assert claim_slugs(page.content.decode()) == expected
