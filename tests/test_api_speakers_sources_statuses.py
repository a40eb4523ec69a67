"""The REST API's speakers, sources and statuses: their lists and details, paging and query counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import yaml

from claims.api.errors import NOT_FOUND
from claims.services import EvidenceItem, archive_source_text, record_verdict
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

# --- speakers, sources, statuses --------------------------------------------------------------------------


@pytest.mark.django_db
def test_speakers_are_those_with_published_claims_by_name_with_their_count(client, statuses):
    zoe = make_speaker(name="Zoe Zed", slug="zoe", role="Mayor")
    ada = make_speaker(name="Ada Ash", slug="ada", role="Minister")
    make_rated_claims(2, speaker=zoe)
    make_claim(speaker=zoe)  # not published: not counted
    make_rated_claim(speaker=ada)
    make_claim(speaker=make_speaker(slug="unpublished"))

    response = client.get("/api/v1/speakers/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["results"] == [
        {
            "id": ada.id,
            "slug": "ada",
            "name": "Ada Ash",
            "role": "Minister",
            "claim_count": 1,
            "url": "http://testserver/api/v1/speakers/ada/",
            "html_url": "http://testserver/speakers/ada/",
        },
        {
            "id": zoe.id,
            "slug": "zoe",
            "name": "Zoe Zed",
            "role": "Mayor",
            "claim_count": 2,
            "url": "http://testserver/api/v1/speakers/zoe/",
            "html_url": "http://testserver/speakers/zoe/",
        },
    ]


@pytest.mark.django_db
def test_a_speaker_by_slug_adds_description_and_profile(client, statuses):
    ada = make_speaker(
        name="Ada Ash", slug="ada", description="Minister since 2024.", url="https://gov.example/ada"
    )
    make_rated_claim(speaker=ada)

    response = client.get("/api/v1/speakers/ada/")

    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "Minister since 2024."
    assert body["profile_url"] == "https://gov.example/ada"
    assert body["url"] == "http://testserver/api/v1/speakers/ada/"
    assert body["claim_count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["nobody", "hidden", "x" * 300, "ünïcode"])
def test_an_unknown_or_unpublished_speaker_is_a_404(client, statuses, slug):
    make_claim(speaker=make_speaker(slug="hidden"))

    response = client.get(f"/api/v1/speakers/{quote(slug)}/")

    assert problem_body(response, 404)["detail"] == NOT_FOUND


@pytest.mark.django_db
def test_a_speaker_without_a_profile_page_has_an_empty_profile_url(client, statuses):
    make_rated_claim(speaker=make_speaker(slug="anon", url=""))

    body = client.get("/api/v1/speakers/anon/").json()
    schema = yaml.safe_load(client.get("/api/schema/").content)

    assert body["profile_url"] == ""
    # The document says so: a string, not a "uri" (which an empty string is not).
    assert "format" not in schema["components"]["schemas"]["SpeakerDetail"]["properties"]["profile_url"]


@pytest.mark.django_db
def test_speakers_page_by_cursor(client, statuses):
    for letter in "abcde":
        make_rated_claim(speaker=make_speaker(name=f"{letter} speaker", slug=f"speaker-{letter}"))

    page1 = client.get("/api/v1/speakers/?page_size=3").json()
    page2 = client.get(page1["next"]).json()

    assert [s["slug"] for s in page1["results"] + page2["results"]] == [f"speaker-{x}" for x in "abcde"]
    assert client.get("/api/v1/speakers/?page_size=0").status_code == 400
    assert client.get("/api/v1/speakers/?cursor=zzz").status_code == 400


@pytest.mark.django_db
def test_sources_are_those_of_published_claims_and_cited_evidence(client, statuses):
    said_in = make_source(title="Speech", publisher="Gov", authors="Press office")
    cited = make_source(title="Audit")
    make_claim(source=make_source(title="Unpublished claim's source"))
    claim = make_claim(source=said_in)
    record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="No.",
        evidence=[EvidenceItem(source=cited, note="p. 2")],
    )
    drafted = make_claim(source=said_in)
    record_verdict(
        claim=drafted,
        status=get_status("true"),
        summary="Draft.",
        publish=False,
        evidence=[EvidenceItem(source=make_source(title="Draft evidence"))],
    )

    response = client.get("/api/v1/sources/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [s["title"] for s in results] == ["Audit", "Speech"]
    assert results[1] == {
        "id": said_in.id,
        "title": "Speech",
        "publisher": "Gov",
        "authors": "Press office",
        "url": said_in.url,
        "published_on": "2025-05-19",
    }


@pytest.mark.django_db
def test_a_source_by_id_says_when_its_text_was_archived_and_its_hash_never_the_text(client, statuses):
    # The archived text is for staff (a wire article may not be republished): the API gives its latest
    # capture's time and SHA-256, so a copy can be checked against ours, and not the text.
    source = make_source(
        archived_text="The full speech.\nLine two.", archived_at=datetime(2025, 5, 19, 21, 0, tzinfo=UTC)
    )
    make_rated_claim(source=source)

    response = client.get(f"/api/v1/sources/{source.id}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "title",
        "publisher",
        "authors",
        "url",
        "published_on",
        "archived_at",
        "archived_sha256",
    }
    assert body["archived_at"] == "2025-05-19T21:00:00Z"
    assert body["archived_sha256"] == hashlib.sha256(b"The full speech.\nLine two.").hexdigest()
    assert "The full speech." not in response.content.decode()


@pytest.mark.django_db
def test_a_new_capture_is_what_a_source_by_id_describes(client, statuses):
    source = make_source(archived_text="First.", archived_at=datetime(2025, 5, 19, 21, 0, tzinfo=UTC))
    archive_source_text(source=source, text="Second.", captured_at=datetime(2025, 5, 20, 8, 0, tzinfo=UTC))
    bare = make_source()
    make_rated_claim(source=source)
    make_rated_claim(source=bare)

    body = client.get(f"/api/v1/sources/{source.id}/").json()
    assert (body["archived_at"], body["archived_sha256"]) == (
        "2025-05-20T08:00:00Z",
        hashlib.sha256(b"Second.").hexdigest(),
    )
    body = client.get(f"/api/v1/sources/{bare.id}/").json()
    assert (body["archived_at"], body["archived_sha256"]) == (None, None)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999999", "abc", "99999999999999999999999"])
def test_an_unknown_source_is_a_404(client, statuses, path):
    make_rated_claim()

    assert client.get(f"/api/v1/sources/{path}/").status_code == 404


@pytest.mark.django_db
def test_a_source_of_no_published_claim_is_a_404(client, statuses):
    source = make_source()
    make_claim(source=source)

    assert client.get(f"/api/v1/sources/{source.id}/").status_code == 404


@pytest.mark.django_db
def test_statuses_list_both_scales_best_first(client, statuses):
    response = client.get("/api/v1/statuses/")

    assert response.status_code == 200
    body = response.json()
    accuracy = [s["slug"] for s in body if s["scale"] == "accuracy"]
    assert accuracy[:5] == ["true", "mostly-true", "misleading", "mostly-false", "false"]
    assert {s["scale"] for s in body} == {"accuracy", "tracking"}
    assert body[0] == {
        "slug": "true",
        "label": "True",
        "scale": "accuracy",
        "position": 5,
        "colour": "#15803d",
        "description": "The claim is accurate and nothing significant is missing.",
    }


@pytest.mark.django_db
def test_a_status_by_slug(client, statuses):
    assert client.get("/api/v1/statuses/false/").json()["label"] == "False"
    assert client.get("/api/v1/statuses/nothing/").status_code == 404


# --- query counts -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_speaker_and_source_lists_are_one_query_at_any_size(
    client, statuses, django_assert_num_queries, count
):
    make_rated_claims(count)

    with django_assert_num_queries(SITE_CLOCK + 1):
        speakers = client.get("/api/v1/speakers/?page_size=50")
    with django_assert_num_queries(SITE_CLOCK + 1):
        sources = client.get("/api/v1/sources/?page_size=50")

    assert len(speakers.json()["results"]) == count
    assert len(sources.json()["results"]) == count


@pytest.mark.django_db
def test_speaker_source_and_status_details_are_one_query(client, statuses, django_assert_num_queries):
    claim = make_rated_claim(speaker=make_speaker(slug="ada"))

    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get("/api/v1/speakers/ada/").status_code == 200
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get(f"/api/v1/sources/{claim.source_id}/").status_code == 200
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get("/api/v1/statuses/false/").status_code == 200


@pytest.mark.django_db
def test_the_statuses_list_is_one_query(client, statuses, django_assert_num_queries):
    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get("/api/v1/statuses/")

    assert len(response.json()) == 12
