"""Search finds near-spellings of speakers' names: "Zelenskyy" finds Volodymyr Zelensky's claims.

On the public list, the API's ?q= and the admin's claim list (all ClaimQuerySet.search), and in the admin's
speaker search and autocomplete. Full-text matches rank first; websearch syntax keeps working; paging by
cursor through a near-spelling search sees every claim once; the pinned query counts hold.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim
from tests.factories import SITE_CLOCK, make_rated_claim, make_rated_claims, make_speaker, make_user
from tests.test_pages import claim_links, get_html
from tests.test_paging import follow_api, follow_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def zelensky(statuses):
    return make_speaker(name="Volodymyr Zelensky", slug="volodymyr-zelensky")


@pytest.fixture
def claims(zelensky):
    """Two claims of Zelensky's, one of another speaker that names him in its text, one unrelated."""
    return {
        "grain": make_rated_claim(speaker=zelensky, text="Grain exports doubled this year."),
        "talks": make_rated_claim(speaker=zelensky, text="Talks with Russia will begin in May."),
        "names_him": make_rated_claim(
            speaker=make_speaker(name="Jane Reporter"), text="Zelenskyy said the grain exports doubled."
        ),
        "other": make_rated_claim(speaker=make_speaker(name="Keir Starmer"), text="Grain prices fell."),
    }


def api_slugs(client, query: str) -> list[str]:
    response = client.get("/api/v1/claims/", {"q": query})
    assert response.status_code == 200
    return [item["slug"] for item in response.json()["results"]]


def test_a_near_spelling_of_a_name_finds_the_speakers_claims_on_the_page_and_the_api(client, claims):
    expected = [claims["names_him"].slug, claims["talks"].slug, claims["grain"].slug]

    # The exact full-text match (the other speaker's text says "Zelenskyy") first, then Zelensky's own.
    assert claim_links(get_html(client, "/claims/?q=Zelenskyy")) == expected
    assert api_slugs(client, "Zelenskyy") == expected
    assert api_slugs(client, "zelenskiy") == [claims["talks"].slug, claims["grain"].slug]


def test_every_plain_word_must_still_match_by_text_or_by_name(client, claims):
    # "grain" by the text, "Zelenskyy" by the text of one and by the name of another.
    assert api_slugs(client, "Zelenskyy grain") == [claims["names_him"].slug, claims["grain"].slug]
    # A stop word (which full text ignores) does not stop the near-spelling.
    assert api_slugs(client, "the Zelenskyy talks") == [claims["talks"].slug]
    assert api_slugs(client, "Zelenskyy bananas") == []


def test_websearch_syntax_keeps_working_with_near_spellings(client, claims):
    assert api_slugs(client, "Zelenskyy -grain") == [claims["talks"].slug]
    assert api_slugs(client, 'Zelenskyy "begin in May"') == [claims["talks"].slug]
    # OR, phrases alone and -words alone are full text only: a near-spelling applies to plain words.
    assert set(api_slugs(client, "Zelenskyy or Starmer")) == {claims["names_him"].slug, claims["other"].slug}
    assert api_slugs(client, '"Zelenskyy"') == [claims["names_him"].slug]
    assert set(api_slugs(client, "-Zelenskyy grain")) == {claims["other"].slug, claims["grain"].slug}


def test_a_short_word_is_not_spelled_near_names(client, statuses):
    make_rated_claim(speaker=make_speaker(name="Theresa May"), text="Brexit means Brexit.")
    # "the" is near "Theresa" by trigrams, but words under four letters are left to the full text.
    assert api_slugs(client, "the") == []
    assert len(api_slugs(client, "Theresah")) == 1


def test_the_admin_claim_list_finds_a_near_spelling(client, claims):
    client.force_login(make_user(editor=True))
    html = client.get(reverse("admin:claims_claim_changelist"), {"q": "Zelenskyy"}).content.decode()
    found = set(re.findall(r'href="/admin/claims/claim/(\d+)/change/', html))
    assert found == {str(claims[k].pk) for k in ("grain", "talks", "names_him")}


def test_the_admin_speaker_search_and_autocomplete_find_a_near_spelling(client, zelensky):
    make_speaker(name="Keir Starmer")
    client.force_login(make_user(editor=True))

    html = client.get(reverse("admin:claims_speaker_changelist"), {"q": "Zelenskyy"}).content.decode()
    assert "Volodymyr Zelensky" in html and "Keir Starmer" not in html
    # Django's own search still works: any word, in the name or the slug.
    html = client.get(reverse("admin:claims_speaker_changelist"), {"q": "keir"}).content.decode()
    assert "Keir Starmer" in html and "Volodymyr Zelensky" not in html

    autocomplete = client.get(
        reverse("admin:autocomplete"),
        {"term": "Zelenskyy", "app_label": "claims", "model_name": "claim", "field_name": "speaker"},
    )
    assert autocomplete.status_code == 200
    assert [item["text"] for item in json.loads(autocomplete.content)["results"]] == ["Volodymyr Zelensky"]


def test_paging_through_a_near_spelling_search_sees_every_claim_once_in_rank_order(client, zelensky):
    moment = timezone.now() - timedelta(days=1)
    # 23 near-spelling matches tied on their status time, and 4 full-text matches that rank above them.
    near = make_rated_claims(23, speaker=zelensky, published_at=moment, text="The front line holds.")
    exact = make_rated_claims(4, published_at=moment, text="Zelenskyy visited the front.")
    expected = {claim.slug for claim in near + exact}

    pages = follow_pages(client, "/claims/?q=Zelenskyy&page_size=5")
    items, _ = follow_api(client, "/api/v1/claims/?q=Zelenskyy&page_size=5")

    for slugs in (pages, [item["slug"] for item in items]):
        assert len(slugs) == len(set(slugs)) == 27
        assert set(slugs) == expected
        assert set(slugs[:4]) == {claim.slug for claim in exact}


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(
    ("url", "queries"),
    # The site clock (factcheck.caching), then for the page: the statuses (for the menu), the page of claims;
    # for the API: the page of claims.
    [
        ("/claims/?q=Zelenskyy", SITE_CLOCK + 2),
        ("/api/v1/claims/?q=Zelenskyy", SITE_CLOCK + 1),
        ("/claims/?q=Zelenskyy+-grain", SITE_CLOCK + 2),
    ],
)
def test_a_near_spelling_search_costs_the_same_queries_for_1_and_20_claims(
    client, zelensky, rows, url, queries, django_assert_num_queries
):
    make_rated_claims(rows, speaker=zelensky)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    if url.startswith("/api/"):
        assert len(response.json()["results"]) == rows
    else:
        assert len(claim_links(response.content.decode())) == rows


def test_the_near_spelling_is_a_condition_the_trigram_index_serves(statuses, zelensky):
    """The match is written so that the planner can answer it from the indexes (a BitmapOr of the full-text
    index and the names' trigram index), without reading every claim. At this size a table scan (or a walk
    of the list's order index) is cheaper, so those are priced out; at 100,000 claims (manage.py generate_claims) the planner picks the indexes by
    itself (about 40 ms).
    """
    make_rated_claims(3, speaker=zelensky)
    make_rated_claims(200)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
        # Only bitmap scans left: each arm of the match must have an index that answers it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = Claim.objects.search("Zelenskyy").order_by().explain()
    assert "Bitmap Index Scan on claims_claim_speaker_trgm_idx" in plan, plan
    assert "Bitmap Index Scan on claims_claim_search_idx" in plan, plan
    # With a -word, every arm also holds `search @@ !grain`: the planner may answer from the full-text index
    # alone (that condition's bitmap, rechecked) or add the names' trigram index; either way no claim is read
    # but through an index.
    plan = Claim.objects.search("Zelenskyy front -grain").order_by().explain()
    assert "Seq Scan" not in plan, plan
    assert "Bitmap Index Scan on claims_claim_search_idx" in plan, plan
    assert len(Claim.objects.search("Zelenskyy")) == 3


@pytest.mark.parametrize(
    "query",
    [
        "Zelenskyy's",
        '"unclosed Zelenskyy',
        "-- - Zelenskyy",
        "or or Zelenskyy",
        "Zelenskyy & | ! : * ( ) <-> %",
        "Zelenskyy\\ \\\\ % _",
        "ZELENSKYY " * 100,
        "Зеленський",
    ],
)
def test_odd_searches_with_a_near_spelling_are_answered_not_a_500(client, claims, query):
    assert client.get("/claims/", {"q": query}).status_code == 200
    assert client.get("/api/v1/claims/", {"q": query}).status_code == 200


def test_a_name_in_another_script_is_spelled_near_too(client, statuses):
    zelensky = make_rated_claim(speaker=make_speaker(name="Володимир Зеленський"))
    assert api_slugs(client, "Зеленский") == [zelensky.slug]
