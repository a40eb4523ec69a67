"""The REST API's claims: the contract of a claim and the list, filters, paging, bad input, query counts.

Speakers, sources and statuses, writes and the schema have their own files; the changes feed too
(test_changes_feed.py); paging through long ties and forged cursors: test_paging.py.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.api.errors import NOT_FOUND
from claims.models import Kind
from claims.services import EvidenceItem, record_verdict
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_source,
    make_speaker,
)
from tests.test_api_errors import parameter_errors, problem_body

CLAIM_FIELDS = {
    "id",
    "slug",
    "text",
    "quote",
    "fidelity",
    "quote_verified",
    "kind",
    "speaker",
    "source",
    "said_on",
    "due_on",
    "overdue",
    "overdue_since",
    "status",
    "status_changed_at",
    "url",
    "html_url",
    "created_at",
    "updated_at",
}


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
    # Due on 30 June 2025 and still open: overdue from 1 July 2025 (today is after it).
    assert item["overdue"] is True
    assert item["overdue_since"] == "2025-07-01"
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
    first, second, third = make_rated_claims(3)
    record_verdict(claim=first, status=get_status("false"), summary="Revisited.", correction_note="Misread.")

    assert ids(client.get("/api/v1/claims/")) == [first.id, third.id, second.id]


@pytest.mark.django_db
def test_the_claims_list_pages_by_cursor_twenty_at_a_time(client, statuses):
    claims = make_rated_claims(25)
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
    make_rated_claims(101)

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
        correction_note="The audit came out.",
    )
    record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)

    response = client.get(f"/api/v1/claims/{claim.id}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == CLAIM_FIELDS | {"version", "quote_context", "verdicts", "corrections"}
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

    assert problem_body(response, 404)["detail"] == NOT_FOUND


@pytest.mark.django_db
def test_a_claim_without_a_published_verdict_is_a_404(client, statuses):
    claim = make_claim()
    record_verdict(claim=claim, status=get_status("false"), summary="Draft.", publish=False)

    assert client.get(f"/api/v1/claims/{claim.id}/").status_code == 404


# --- claims: filters --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claims_filter_by_speaker_slug(client, statuses):
    ada = make_speaker(slug="ada")
    mine = make_rated_claims(2, speaker=ada)
    make_rated_claims(2)

    assert ids(client.get(claims_url(speaker="ada"))) == [mine[1].id, mine[0].id]


@pytest.mark.django_db
def test_claims_filter_by_current_status_slug(client, statuses):
    false_claim = make_rated_claim(status=get_status("false"))
    make_rated_claim(status=get_status("true"))
    moved_away = make_rated_claim(status=get_status("false"))
    record_verdict(
        claim=moved_away, status=get_status("true"), summary="Corrected.", correction_note="Misread."
    )

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

    record_verdict(
        claim=earlier, status=get_status("false"), summary="New evidence.", correction_note="Misread."
    )

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
    make_rated_claims(5, text="Taxes rose.")
    make_rated_claims(3, text="Taxes rose and taxes rose again, taxes everywhere.")

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

    assert parameter_errors(response) == {field: [message]}


@pytest.mark.django_db
def test_a_speaker_without_published_claims_is_not_a_filter_choice(client, statuses):
    hidden = make_speaker(slug="hidden")
    make_claim(speaker=hidden)
    make_rated_claim()

    response = client.get(claims_url(speaker="hidden"))

    assert "hidden" in parameter_errors(response)["speaker"][0]


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


# --- query counts -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize(
    "params", ["", "?page_size=50", "?kind=fact", "?q=claim", "?said_on_after=2025-01-01"]
)
def test_a_claims_page_is_one_query_at_any_size(client, statuses, django_assert_num_queries, count, params):
    make_rated_claims(count)

    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get("/api/v1/claims/" + params)

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(count, 50 if "page_size" in params else 20)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_a_claims_page_filtered_by_slug_adds_one_query_per_slug(
    client, statuses, django_assert_num_queries, count
):
    ada = make_speaker(slug="ada")
    make_rated_claims(count, speaker=ada, status=get_status("true"))

    with django_assert_num_queries(SITE_CLOCK + 3):
        response = client.get("/api/v1/claims/?speaker=ada&status=true&page_size=50")

    assert len(response.json()["results"]) == count


@pytest.mark.django_db
def test_the_next_claims_page_is_one_query_too(client, statuses, django_assert_num_queries):
    make_rated_claims(30)
    next_url = client.get("/api/v1/claims/").json()["next"]

    with django_assert_num_queries(SITE_CLOCK + 1):
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
            correction_note=f"Re-checked, round {n}.",
            evidence=[EvidenceItem(source=make_source(), note=f"Note {i}.") for i in range(evidence)],
        )

    with django_assert_num_queries(SITE_CLOCK + 2):
        response = client.get(f"/api/v1/claims/{claim.id}/")

    body = response.json()
    assert len(body["verdicts"]) == verdicts
    assert [len(v["evidence"]) for v in body["verdicts"]] == [evidence] * verdicts
    # Each later verdict changed the rating: a correction each, in the claim's own query.
    assert len(body["corrections"]) == verdicts - 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/claims/", "/claims/", "/api/v1/claims/?q=claim", "/claims/?q=claim"]
)
def test_a_list_of_claims_does_not_read_their_search_vectors(client, statuses, path):
    make_rated_claims(2)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200

    [page] = [q["sql"] for q in queries.captured_queries if 'FROM "claims_claim"' in q["sql"]]
    selected = page[: page.index('FROM "claims_claim"')]
    # Ranking a search computes from the vector in SQL (ts_rank, and a match test that ranks near-spellings
    # below full-text matches); no row brings the vector itself to Python.
    computed = re.sub(r"ts_rank\([^)]*\)|\"claims_claim\".\"search\" @@", "", selected)
    assert computed.count('"claims_claim"."search"') == 0


@pytest.mark.django_db
def test_a_claims_filters_apply_to_its_detail_as_to_the_list(client, statuses, django_assert_num_queries):
    """A claim is read through the list's filters (DRF's detail view filters too): a search or a kind it does
    not match is a 404; one it matches answers the detail as without the filter, in the same two queries."""
    claim = make_rated_claim(text="The ceasefire holds along the whole front.", kind=Kind.FACT)
    plain = client.get(f"/api/v1/claims/{claim.pk}/")
    for params in ("?q=ceasefire", "?kind=fact"):
        with django_assert_num_queries(SITE_CLOCK + 2):
            response = client.get(f"/api/v1/claims/{claim.pk}/{params}")
        assert response.status_code == 200, params
        assert response.content == plain.content
    for params in ("?q=elephant", "?kind=promise"):
        assert client.get(f"/api/v1/claims/{claim.pk}/{params}").status_code == 404, params
