"""The API's JSON, byte for byte: what a consumer parses must not move when the read path is made faster.

Two checks. The default data's claim list, search and every claim's detail are compared with the bytes the
API answered before the read path was rewritten (tests/contract/*.json, recorded with UPDATE_CONTRACT=1; the
ids numbered from 1, the cursors and the times the data were loaded at replaced by placeholders, the rest
exact). And on claims made to be awkward (text needing escapes, U+2028, emoji, a verified quote in its paragraph, an overdue
promise, evidence without a date, a correction), each response is compared with what DRF's own serializers
(claims.api.serializers, the schema the documentation is made from) and DRF's JSONRenderer make of the same
rows: the fast path writes what DRF would, whatever the data.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from claims.api.serializers import ClaimDetailSerializer, ClaimSerializer
from claims.models import Claim, Fidelity, Kind, end_of_day
from claims.services import EvidenceItem, record_verdict, save_claim
from tests.factories import get_status, make_source, make_speaker

CONTRACT = Path(__file__).parent / "contract"

ARTICLE = (
    "The leaders spoke for two hours.\n\n"
    'He said "talks will begin at once" after the call \u2028 and the aides <b>agreed</b> & left.\n\n'
    "Nothing else was said."
)


def _normalised(body: bytes) -> str:
    """The body with what differs from one run to the next replaced: the times the data were loaded at, and
    the cursors (signed with a timestamp by django.core.signing)."""
    text = body.decode("utf-8")
    text = re.sub(r'"(created_at|updated_at)":"[^"]*"', r'"\1":"<loaded>"', text)
    return re.sub(r"cursor=[^&\"]+", "cursor=<cursor>", text)


# The tables whose ids the API shows: numbered from 1 for the default data, so the recorded ids are theirs.
NUMBERED = ["claims_claim", "claims_speaker", "claims_source", "claims_verdict", "claims_correction"]


def _check_contract(name: str, body: bytes) -> None:
    path = CONTRACT / f"{name}.json"
    text = _normalised(body)
    if os.environ.get("UPDATE_CONTRACT"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the API's JSON for {name} moved"


@pytest.fixture
def default_data(db):
    """The default data, its ids from 1 whatever earlier tests drew (the tables are empty here)."""
    with connection.cursor() as cursor:
        for table in NUMBERED:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1, false)", [table])
    call_command("load_default_data", verbosity=0)


@pytest.mark.django_db
def test_default_data_answers_as_recorded(client, default_data):
    """The list (page 1 and the next), a search, a filter and every claim's detail of the default data."""
    first = client.get("/api/v1/claims/?page_size=10")
    assert first.status_code == 200
    _check_contract("list", first.content)
    following = client.get(first.json()["next"])
    assert following.status_code == 200
    _check_contract("list-next", following.content)
    for name, params in [
        ("search", {"q": "prisoner exchange"}),
        ("filtered", {"kind": "promise", "page_size": 100}),
    ]:
        response = client.get("/api/v1/claims/?" + urlencode(params))
        assert response.status_code == 200
        _check_contract(name, response.content)
    for n, claim in enumerate(Claim.objects.published().order_by("status_changed_at", "id"), start=1):
        response = client.get(f"/api/v1/claims/{claim.pk}/")
        assert response.status_code == 200
        _check_contract(f"detail-{n}", response.content)


@pytest.fixture
def awkward_claims(db, statuses):
    """Published claims whose JSON needs every escape, a quote in context, overdue, evidence, a correction."""
    source = make_source(
        title='The "call" & <after>',
        publisher="Ré\u2028port",
        url="https://news.example/awkward?a=1&b=2",
        published_on=None,
        archived_text=ARTICLE,
    )
    speaker = make_speaker(name="Zoë \u201cQ\u201d O'Brien", role="Envoy \U0001f54a")
    verified = save_claim(
        claim=Claim(
            speaker=speaker,
            source=source,
            slug="verified-quote",
            text='Talks will begin at once, "\u2028" <script>alert(1)</script> \\ \x7f tab\there',
            quote="talks will begin at once",
            fidelity=Fidelity.VERBATIM,
            kind=Kind.PROMISE,
            said_on=date(2025, 5, 19),
            due_on=date(2025, 5, 26),
        )
    )
    record_verdict(
        claim=verified,
        status=get_status("in-progress"),
        summary="Not \u2029 yet.",
        explanation="Line one\nline two \U0001f600",
        evidence=[EvidenceItem(source=source, note="Said & reported <here>.")],
    )
    plain = Claim.objects.create(
        speaker=speaker,
        source=make_source(published_on=date(2024, 2, 29)),
        slug="plain-fact",
        text="A fact with nothing odd.",
        kind=Kind.FACT,
        said_on=date(2025, 5, 19),
    )
    record_verdict(claim=plain, status=get_status("false"), summary="Wrong.")
    plain.refresh_from_db()
    plain.text = "A fact with nothing odd \u2028 now."
    save_claim(claim=plain, expected_version=plain.version, correction_note="Typo \u2028 fixed.")
    return [Claim.objects.get(pk=verified.pk), Claim.objects.get(pk=plain.pk)]


def _reference_detail(claim: Claim, request: Request, day: date | None = None) -> bytes:
    before = end_of_day(day) if day is not None else None
    claims = (
        Claim.objects.published()
        .for_listing()
        .with_timeline(before=before)
        .with_corrections(before=before)
        .with_quote_context()
    )
    if day is not None:
        claims = claims.as_of(day)
    context = {"request": request, "today": day or timezone.localdate()}
    return JSONRenderer().render(ClaimDetailSerializer(claims.get(pk=claim.pk), context=context).data)


@pytest.mark.django_db
def test_fast_path_writes_what_drf_would(client, awkward_claims, set_today):
    """Each awkward claim's detail, and the list of them, as DRF's serializers and renderer write them."""
    # Tomorrow, so the promise due in May 2025 is overdue and today (the verdicts' day) can be asked "as of".
    today = timezone.localdate()
    set_today(today + timedelta(days=1))
    request = Request(RequestFactory().get("/", HTTP_HOST="testserver"))
    for claim in awkward_claims:
        response = client.get(f"/api/v1/claims/{claim.pk}/")
        assert response.status_code == 200
        assert response.content == _reference_detail(claim, request)
        body = json.loads(response.content)
        assert body["overdue"] is (claim.kind == Kind.PROMISE)
        as_of = client.get(f"/api/v1/claims/{claim.pk}/?as_of={today.isoformat()}")
        assert as_of.status_code == 200
        assert as_of.content == _reference_detail(claim, request, today)
    verified = json.loads(client.get(f"/api/v1/claims/{awkward_claims[0].pk}/").content)
    assert verified["quote_context"]["quote"] == "talks will begin at once"
    assert "\\u2028" in client.get(f"/api/v1/claims/{awkward_claims[0].pk}/").content.decode()

    response = client.get("/api/v1/claims/")
    listed = list(Claim.objects.published().for_listing().order_by("-status_changed_at", "-id"))
    context = {"request": request, "today": today + timedelta(days=1)}
    expected = JSONRenderer().render(
        {"next": None, "previous": None, "results": ClaimSerializer(listed, many=True, context=context).data}
    )
    assert response.content == expected
