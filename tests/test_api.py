"""The REST API: its contract, filters, paging, bad input, query counts, permissions and OpenAPI schema.

The changes feed has its own file, test_changes_feed.py.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from urllib.parse import quote, urlencode

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.utils import timezone

from claims.models import Claim, Kind
from claims.services import EvidenceItem, record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker, make_user

CLAIM_FIELDS = {
    "id",
    "slug",
    "text",
    "quote",
    "kind",
    "speaker",
    "source",
    "said_on",
    "due_on",
    "status",
    "status_changed_at",
    "url",
    "html_url",
    "created_at",
    "updated_at",
}


def rated_claims(count: int, **fields) -> list[Claim]:
    """`count` published claims, oldest status change first."""
    return [make_rated_claim(**fields) for _ in range(count)]


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def claims_url(**params) -> str:
    return "/api/v1/claims/" + ("?" + urlencode(params) if params else "")


# --- claims: the contract ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_in_the_list_has_every_documented_field(client, statuses):
    speaker = make_speaker(name="Ada Minister", slug="ada-minister", role="Minister of Roads")
    source = make_source(
        title="Roads speech",
        publisher="Gazette",
        url="https://gazette.example/roads",
        published_on=date(2025, 5, 1),
    )
    claim = make_claim(
        speaker=speaker,
        source=source,
        slug="roads-will-be-fixed",
        text="All roads will be fixed by June.",
        quote="We will fix every road by June",
        kind=Kind.PROMISE,
        said_on=date(2025, 5, 1),
        due_on=date(2025, 6, 30),
    )
    record_verdict(claim=claim, status=get_status("open"), summary="Just said.")
    claim.refresh_from_db()

    response = client.get("/api/v1/claims/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    [item] = body["results"]
    assert set(item) == CLAIM_FIELDS
    assert item["id"] == claim.id
    assert item["slug"] == "roads-will-be-fixed"
    assert item["text"] == "All roads will be fixed by June."
    assert item["quote"] == "We will fix every road by June"
    assert item["kind"] == "promise"
    assert item["speaker"] == {
        "id": speaker.id,
        "slug": "ada-minister",
        "name": "Ada Minister",
        "role": "Minister of Roads",
    }
    assert item["source"] == {
        "id": source.id,
        "title": "Roads speech",
        "publisher": "Gazette",
        "url": "https://gazette.example/roads",
        "published_on": "2025-05-01",
    }
    assert item["said_on"] == "2025-05-01"
    assert item["due_on"] == "2025-06-30"
    open_status = get_status("open")
    assert item["status"] == {
        "slug": "open",
        "label": open_status.label,
        "scale": "tracking",
        "position": open_status.position,
    }
    assert item["status_changed_at"] == claim.status_changed_at.isoformat().replace("+00:00", "Z")
    assert item["url"] == f"http://testserver/api/v1/claims/{claim.id}/"
    assert item["html_url"] == "http://testserver/claims/roads-will-be-fixed/"
    assert item["created_at"] and item["updated_at"]


@pytest.mark.django_db
def test_the_claim_url_leads_to_the_claim_in_the_api(client, statuses):
    make_rated_claim()
    item = client.get("/api/v1/claims/").json()["results"][0]

    detail = client.get(item["url"])

    assert detail.status_code == 200
    assert detail.json()["id"] == item["id"]


@pytest.mark.django_db
def test_the_claims_list_shows_only_claims_with_a_published_verdict(client, statuses):
    public = make_rated_claim()
    make_claim()  # never rated
    drafted = make_claim()
    record_verdict(claim=drafted, status=get_status("false"), summary="Not yet.", publish=False)

    assert ids(client.get("/api/v1/claims/")) == [public.id]


@pytest.mark.django_db
def test_the_claims_list_is_latest_status_change_first(client, statuses):
    first, second, third = rated_claims(3)
    record_verdict(claim=first, status=get_status("false"), summary="Revisited.")

    assert ids(client.get("/api/v1/claims/")) == [first.id, third.id, second.id]


@pytest.mark.django_db
def test_the_claims_list_pages_by_cursor_twenty_at_a_time(client, statuses):
    claims = rated_claims(25)
    newest_first = [claim.id for claim in reversed(claims)]

    page1 = client.get("/api/v1/claims/").json()
    page2 = client.get(page1["next"]).json()
    back = client.get(page2["previous"]).json()

    assert [item["id"] for item in page1["results"]] == newest_first[:20]
    assert page1["previous"] is None
    assert [item["id"] for item in page2["results"]] == newest_first[20:]
    assert page2["next"] is None
    assert [item["id"] for item in back["results"]] == newest_first[:20]


@pytest.mark.django_db
def test_page_size_chooses_the_page_length_and_is_capped_at_100(client, statuses):
    rated_claims(101)

    assert len(client.get(claims_url(page_size=3)).json()["results"]) == 3
    assert len(client.get(claims_url(page_size=1000)).json()["results"]) == 100


@pytest.mark.django_db
def test_a_claim_shows_its_published_verdicts_newest_first_with_evidence(client, statuses):
    claim = make_claim(kind=Kind.FACT)
    report = make_source(title="Audit report", publisher="Audit Office", url="https://audit.example/r")
    record_verdict(claim=claim, status=get_status("true"), summary="Looked right.")
    record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="The audit says otherwise.",
        explanation="The audit counted 12, not 20.",
        evidence=[EvidenceItem(source=report, note="Table 3 counts 12.")],
    )
    record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)

    response = client.get(f"/api/v1/claims/{claim.id}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == CLAIM_FIELDS | {"verdicts"}
    assert body["status"]["slug"] == "false"
    newest, oldest = body["verdicts"]
    assert set(newest) == {"id", "status", "summary", "explanation", "evidence", "published_at"}
    assert newest["status"] == {"slug": "false", "label": "False", "scale": "accuracy", "position": 1}
    assert newest["summary"] == "The audit says otherwise."
    assert newest["explanation"] == "The audit counted 12, not 20."
    assert newest["evidence"] == [
        {
            "source": {
                "id": report.id,
                "title": "Audit report",
                "publisher": "Audit Office",
                "url": "https://audit.example/r",
                "published_on": "2025-05-19",
            },
            "note": "Table 3 counts 12.",
        }
    ]
    assert oldest["summary"] == "Looked right."
    assert oldest["evidence"] == []
    assert newest["published_at"] > oldest["published_at"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999999", "abc", "99999999999999999999999", "-1", "1.5", "é"])
def test_a_claim_that_does_not_exist_is_a_404_in_json(client, statuses, path):
    make_rated_claim()

    response = client.get(f"/api/v1/claims/{quote(path)}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.django_db
def test_a_claim_without_a_published_verdict_is_a_404(client, statuses):
    claim = make_claim()
    record_verdict(claim=claim, status=get_status("false"), summary="Draft.", publish=False)

    assert client.get(f"/api/v1/claims/{claim.id}/").status_code == 404


# --- claims: filters --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claims_filter_by_speaker_slug(client, statuses):
    ada = make_speaker(slug="ada")
    mine = rated_claims(2, speaker=ada)
    rated_claims(2)

    assert ids(client.get(claims_url(speaker="ada"))) == [mine[1].id, mine[0].id]


@pytest.mark.django_db
def test_claims_filter_by_current_status_slug(client, statuses):
    false_claim = make_rated_claim(status=get_status("false"))
    make_rated_claim(status=get_status("true"))
    moved_away = make_rated_claim(status=get_status("false"))
    record_verdict(claim=moved_away, status=get_status("true"), summary="Corrected.")

    assert ids(client.get(claims_url(status="false"))) == [false_claim.id]


@pytest.mark.django_db
def test_claims_filter_by_kind(client, statuses):
    promise = make_rated_claim(kind=Kind.PROMISE)
    make_rated_claim(kind=Kind.FACT)

    assert ids(client.get(claims_url(kind="promise"))) == [promise.id]


@pytest.mark.django_db
def test_claims_filter_by_the_day_they_were_said_both_ends_included(client, statuses):
    may1, may2, may3 = (make_rated_claim(said_on=date(2025, 5, day)) for day in (1, 2, 3))

    assert set(ids(client.get(claims_url(said_on_after="2025-05-02")))) == {may2.id, may3.id}
    assert set(ids(client.get(claims_url(said_on_before="2025-05-02")))) == {may1.id, may2.id}
    assert ids(client.get(claims_url(said_on_after="2025-05-02", said_on_before="2025-05-02"))) == [may2.id]
    assert ids(client.get(claims_url(said_on_after="2025-05-03", said_on_before="2025-05-01"))) == []


@pytest.mark.django_db
def test_claims_filter_by_updated_since_includes_new_statuses(client, statuses):
    earlier = make_rated_claim()
    since = timezone.now()
    later = make_rated_claim()

    assert ids(client.get(claims_url(updated_since=since.isoformat()))) == [later.id]

    record_verdict(claim=earlier, status=get_status("false"), summary="New evidence.")

    assert ids(client.get(claims_url(updated_since=since.isoformat()))) == [earlier.id, later.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "written",
    [
        "2000-01-01T00:00:00Z",
        "2000-01-01T01:00:00+01:00",
        "2000-01-01T00:00:00",
        "2000-01-01",
        "2000-01-01 00:00",
    ],
)
def test_updated_since_reads_iso_8601_times(client, statuses, written):
    claim = make_rated_claim()

    response = client.get(claims_url(updated_since=written))

    assert response.status_code == 200
    assert ids(response) == [claim.id]


@pytest.mark.django_db
def test_search_finds_claims_by_text_quote_and_speaker_name_best_match_first(client, statuses):
    by_text = make_rated_claim(text="Unemployment fell to a record low of four percent.")
    by_quote = make_rated_claim(text="A claim about jobs.", quote="unemployment is down")
    by_name = make_rated_claim(speaker=make_speaker(name="Uma Unemployment"))
    make_rated_claim(text="Bridges are being built.")

    response = client.get(claims_url(q="unemployment"))

    assert response.status_code == 200
    found = ids(response)
    assert set(found) == {by_text.id, by_quote.id, by_name.id}
    assert found[0] == by_text.id  # the text weighs most


@pytest.mark.django_db
def test_search_results_page_by_cursor_in_rank_order(client, statuses):
    rated_claims(5, text="Taxes rose.")
    rated_claims(3, text="Taxes rose and taxes rose again, taxes everywhere.")

    page1 = client.get(claims_url(q="taxes", page_size=4)).json()
    page2 = client.get(page1["next"]).json()

    seen = [item["id"] for item in page1["results"] + page2["results"]]
    assert len(seen) == len(set(seen)) == 8
    assert page2["next"] is None


@pytest.mark.django_db
def test_filters_combine(client, statuses):
    ada = make_speaker(slug="ada")
    wanted = make_rated_claim(speaker=ada, kind=Kind.FACT, status=get_status("false"), text="Ports are full.")
    make_rated_claim(speaker=ada, kind=Kind.FACT, status=get_status("true"), text="Ports are full.")
    make_rated_claim(speaker=ada, kind=Kind.PROMISE, text="Ports are full.")

    response = client.get(claims_url(speaker="ada", status="false", kind="fact", q="ports"))

    assert ids(response) == [wanted.id]


# --- claims: bad input ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"speaker": "nobody"}, "speaker", "There is no speaker “nobody” with published claims."),
        ({"status": "half-true"}, "status", "There is no status “half-true”."),
        ({"kind": "rumour"}, "kind", "There is no kind of claim “rumour”."),
        ({"said_on_after": "yesterday"}, "said_on_after", "Enter a valid date."),
        ({"said_on_before": "2025-02-30"}, "said_on_before", "Enter a valid date."),
        ({"said_on_after": "10000-01-01"}, "said_on_after", "Enter a valid date."),
        ({"updated_since": "last week"}, "updated_since", "Enter a valid date/time."),
        ({"updated_since": "2025-13-01T00:00:00Z"}, "updated_since", "Enter a valid date/time."),
        # An unencoded + in an offset arrives as a space.
        ({"updated_since": "2025-05-01T00:00:00 01:00"}, "updated_since", "Enter a valid date/time."),
        ({"page_size": "0"}, "page_size", "Must be a whole number from 1 to 100."),
        ({"page_size": "ten"}, "page_size", "Must be a whole number from 1 to 100."),
        ({"page_size": "-5"}, "page_size", "Must be a whole number from 1 to 100."),
        ({"cursor": "not-a-cursor"}, "cursor", "Invalid or expired cursor."),
    ],
)
def test_a_bad_claims_parameter_is_a_400_that_says_what_is_wrong(client, statuses, params, field, message):
    make_rated_claim()

    response = client.get(claims_url(**params))

    assert response.status_code == 400
    assert response.json() == {field: [message]}


@pytest.mark.django_db
def test_a_speaker_without_published_claims_is_not_a_filter_choice(client, statuses):
    hidden = make_speaker(slug="hidden")
    make_claim(speaker=hidden)
    make_rated_claim()

    response = client.get(claims_url(speaker="hidden"))

    assert response.status_code == 400
    assert "hidden" in response.json()["speaker"][0]


def _cursor(**fields: str) -> str:
    return base64.b64encode(urlencode(fields).encode()).decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(p="not a time"),
        _cursor(p="9999-12-31 23:59:59+00:00", o="999999999"),
        _cursor(o="-1"),
        _cursor(p="\ud800".encode("utf-8", "surrogatepass").decode("latin-1")),
        "%%%",
    ],
)
def test_a_forged_cursor_is_a_400_or_a_page_never_a_500(client, statuses, cursor):
    make_rated_claim()

    response = client.get(claims_url(cursor=cursor))

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json() == {"cursor": ["Invalid or expired cursor."]}


@pytest.mark.django_db
def test_a_forged_cursor_on_a_search_is_a_400_or_an_empty_page(client, statuses):
    make_rated_claim(text="Taxes rose.")

    response = client.get(claims_url(q="taxes", cursor=_cursor(p="not a number")))

    assert response.status_code in (200, 400)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        '"record low',
        "'; DROP TABLE claims_claim; --",
        "&|!:*()",
        "a & b | !c:* (d",
        "<-> !! ::",
        "chômage für 失業 🚀",
        "x" * 1000,
        "unemployment " * 77,
        "the",
        "-",
    ],
)
def test_any_search_text_is_answered(client, statuses, text):
    make_rated_claim(text="Unemployment fell to a record low.")

    response = client.get(claims_url(q=text))

    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


@pytest.mark.django_db
def test_search_with_quotes_finds_the_phrase(client, statuses):
    match = make_rated_claim(text="Unemployment fell to a record low.")
    make_rated_claim(text="A low record of unemployment.")

    assert ids(client.get(claims_url(q='"record low"'))) == [match.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "q=a%00b",
        "speaker=%00",
        "status=false%00",
        "said_on_after=2025-01-01%00",
        "q=%ED%A0%80",
        "kind=%ED%A0%80",
    ],
)
def test_a_nul_byte_or_lone_surrogate_in_a_parameter_is_a_400(client, statuses, query):
    make_rated_claim()

    assert client.get(f"/api/v1/claims/?{query}").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/claims/1%00/",
        "/api/v1/speakers/a%00b/",
        "/api/v1/claims/%ED%A0%80/",
        "/api/v1/speakers/%ED%A0%80/",
    ],
)
def test_a_nul_byte_or_lone_surrogate_in_the_path_is_a_400(client, statuses, path):
    make_rated_claim()

    assert client.get(path).status_code == 400


# --- writes are refused -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/claims/",
        "/api/v1/claims/{claim}/",
        "/api/v1/speakers/",
        "/api/v1/speakers/{speaker}/",
        "/api/v1/sources/{source}/",
        "/api/v1/statuses/false/",
        "/api/v1/changes/",
    ],
)
def test_anonymous_writes_are_refused_and_change_nothing(client, statuses, method, path):
    claim = make_rated_claim(text="Unchanged.")
    url = path.format(claim=claim.id, speaker=claim.speaker.slug, source=claim.source_id)

    response = getattr(client, method)(
        url, data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    claim.refresh_from_db()
    assert claim.text == "Unchanged."
    assert Claim.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_signed_in_reader_without_permissions_cannot_write(client, statuses, method):
    claim = make_rated_claim(text="Unchanged.")
    client.force_login(make_user())

    response = getattr(client, method)(
        f"/api/v1/claims/{claim.id}/", data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.text == "Unchanged."


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_has_no_write_actions_even_for_a_superuser(client, statuses, method):
    claim = make_rated_claim(text="Unchanged.")
    client.force_login(make_user(is_superuser=True))
    url = "/api/v1/claims/" if method == "post" else f"/api/v1/claims/{claim.id}/"

    response = getattr(client, method)(
        url, data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    assert response.status_code == 405
    claim.refresh_from_db()
    assert claim.text == "Unchanged."


# --- speakers, sources, statuses --------------------------------------------------------------------------


@pytest.mark.django_db
def test_speakers_are_those_with_published_claims_by_name_with_their_count(client, statuses):
    zoe = make_speaker(name="Zoe Zed", slug="zoe", role="Mayor")
    ada = make_speaker(name="Ada Ash", slug="ada", role="Minister")
    rated_claims(2, speaker=zoe)
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

    assert response.status_code == 404
    assert "detail" in response.json()


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
def test_a_source_by_id_adds_its_archived_text(client, statuses):
    source = make_source(archived_text="The full speech.\nLine two.")
    make_rated_claim(source=source)

    response = client.get(f"/api/v1/sources/{source.id}/")

    assert response.status_code == 200
    assert response.json()["archived_text"] == "The full speech.\nLine two."
    assert set(response.json()) == {
        "id",
        "title",
        "publisher",
        "authors",
        "url",
        "published_on",
        "archived_text",
        "archived_at",
    }


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
@pytest.mark.parametrize(
    "params", ["", "?page_size=50", "?kind=fact", "?q=claim", "?said_on_after=2025-01-01"]
)
def test_a_claims_page_is_one_query_at_any_size(client, statuses, django_assert_num_queries, count, params):
    rated_claims(count)

    with django_assert_num_queries(1):
        response = client.get("/api/v1/claims/" + params)

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(count, 50 if "page_size" in params else 20)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_a_claims_page_filtered_by_slug_adds_one_query_per_slug(
    client, statuses, django_assert_num_queries, count
):
    ada = make_speaker(slug="ada")
    rated_claims(count, speaker=ada, status=get_status("true"))

    with django_assert_num_queries(3):
        response = client.get("/api/v1/claims/?speaker=ada&status=true&page_size=50")

    assert len(response.json()["results"]) == count


@pytest.mark.django_db
def test_the_next_claims_page_is_one_query_too(client, statuses, django_assert_num_queries):
    rated_claims(30)
    next_url = client.get("/api/v1/claims/").json()["next"]

    with django_assert_num_queries(1):
        response = client.get(next_url)

    assert len(response.json()["results"]) == 10


@pytest.mark.django_db
@pytest.mark.parametrize(("verdicts", "evidence"), [(1, 0), (1, 1), (5, 3)])
def test_a_claim_is_two_queries_whatever_its_timeline(
    client, statuses, django_assert_num_queries, verdicts, evidence
):
    claim = make_claim(kind=Kind.FACT)
    for n in range(verdicts):
        record_verdict(
            claim=claim,
            status=get_status("false" if n % 2 else "true"),
            summary=f"Verdict {n}.",
            evidence=[EvidenceItem(source=make_source(), note=f"Note {i}.") for i in range(evidence)],
        )

    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/claims/{claim.id}/")

    body = response.json()
    assert len(body["verdicts"]) == verdicts
    assert [len(v["evidence"]) for v in body["verdicts"]] == [evidence] * verdicts


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_speaker_and_source_lists_are_one_query_at_any_size(
    client, statuses, django_assert_num_queries, count
):
    rated_claims(count)

    with django_assert_num_queries(1):
        speakers = client.get("/api/v1/speakers/?page_size=50")
    with django_assert_num_queries(1):
        sources = client.get("/api/v1/sources/?page_size=50")

    assert len(speakers.json()["results"]) == count
    assert len(sources.json()["results"]) == count


@pytest.mark.django_db
def test_speaker_source_and_status_details_are_one_query(client, statuses, django_assert_num_queries):
    claim = make_rated_claim(speaker=make_speaker(slug="ada"))

    with django_assert_num_queries(1):
        assert client.get("/api/v1/speakers/ada/").status_code == 200
    with django_assert_num_queries(1):
        assert client.get(f"/api/v1/sources/{claim.source_id}/").status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/api/v1/statuses/false/").status_code == 200


@pytest.mark.django_db
def test_the_statuses_list_is_one_query(client, statuses, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/api/v1/statuses/")

    assert len(response.json()) == 12


# --- OpenAPI schema and docs ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_schema_describes_every_endpoint_and_filter(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/claims/",
        "/api/v1/claims/{id}/",
        "/api/v1/speakers/",
        "/api/v1/speakers/{slug}/",
        "/api/v1/sources/",
        "/api/v1/sources/{id}/",
        "/api/v1/statuses/",
        "/api/v1/statuses/{slug}/",
        "/api/v1/changes/",
    }
    claims_list = schema["paths"]["/api/v1/claims/"]["get"]
    assert {p["name"] for p in claims_list["parameters"]} == {
        "speaker",
        "status",
        "kind",
        "q",
        "said_on_after",
        "said_on_before",
        "updated_since",
        "cursor",
        "page_size",
    }
    changes = schema["paths"]["/api/v1/changes/"]["get"]
    assert {p["name"] for p in changes["parameters"]} == {"after", "page_size"}
    components = schema["components"]["schemas"]
    assert set(components["Claim"]["properties"]) == CLAIM_FIELDS
    assert set(components["ClaimDetail"]["properties"]) == CLAIM_FIELDS | {"verdicts"}
    assert components["Evidence"]["properties"]["source"]["allOf"] == [
        {"$ref": "#/components/schemas/SourceBrief"}
    ]
    assert components["Claim"]["properties"]["html_url"]["format"] == "uri"
    assert set(components["PaginatedStatusChangeList"]["properties"]) == {"next", "last_id", "results"}
    assert {} in claims_list["security"]  # anonymous readers are welcome


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "/api/v1/changes/" in out.read_text()


@pytest.mark.django_db
def test_the_api_docs_page_uses_the_projects_own_assets(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/schema/" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")


@pytest.mark.django_db
def test_the_api_root_lists_every_resource(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert set(response.json()) == {"claims", "speakers", "sources", "statuses", "changes"}
