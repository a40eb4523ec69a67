from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import checks
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from claims.claimreview import claim_review, json_ld_script
from claims.models import Claim, Kind
from claims.services import record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker

pytestmark = pytest.mark.django_db

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def page_blocks(client, claim: Claim) -> tuple[str, list[str]]:
    response = client.get(claim.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    return html, JSON_LD.findall(html)


def loaded(claim: Claim) -> Claim:
    """The claim as the claim page loads it."""
    return Claim.objects.select_related("speaker", "source", "status").with_scale_bounds().get(pk=claim.pk)


def test_a_rated_fact_is_reviewed_with_its_status_on_the_accuracy_scale(statuses, settings):
    settings.FACTCHECK_ORGANIZATION_NAME = "The Checkers"
    settings.FACTCHECK_ORGANIZATION_URL = "https://checkers.example/"
    settings.FACTCHECK_SITE_URL = "https://facts.example"
    speaker = make_speaker(name="Dmitry Peskov", role="Kremlin spokesman")
    source = make_source(title="Talks to begin", publisher="Express & Star", url="https://news.example/talks")
    claim = make_rated_claim(
        status=get_status("mostly-false"),
        speaker=speaker,
        source=source,
        slug="first-talks",
        text="The Istanbul talks were the first since 2022.",
        said_on=date(2025, 5, 19),
    )

    review = claim_review(loaded(claim))

    assert review == {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": "https://facts.example/claims/first-talks/",
        "claimReviewed": "The Istanbul talks were the first since 2022.",
        "datePublished": timezone.localdate(claim.status_changed_at).isoformat(),
        "author": {"@type": "Organization", "name": "The Checkers", "url": "https://checkers.example/"},
        "reviewRating": {
            "@type": "Rating",
            "alternateName": "Mostly false",
            "ratingValue": 2,
            "bestRating": 5,
            "worstRating": 1,
        },
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Person", "name": "Dmitry Peskov", "jobTitle": "Kremlin spokesman"},
            "datePublished": "2025-05-19",
            "appearance": {
                "@type": "CreativeWork",
                "url": "https://news.example/talks",
                "headline": "Talks to begin",
                "publisher": {"@type": "Organization", "name": "Express & Star"},
                "datePublished": "2025-05-19",
            },
            "firstAppearance": {
                "@type": "CreativeWork",
                "url": "https://news.example/talks",
                "headline": "Talks to begin",
                "publisher": {"@type": "Organization", "name": "Express & Star"},
                "datePublished": "2025-05-19",
            },
        },
    }


def test_a_promise_is_rated_on_the_tracking_scale_from_broken_to_kept(statuses):
    claim = make_rated_claim(status=get_status("broken"), kind=Kind.PROMISE)

    rating = claim_review(loaded(claim))["reviewRating"]

    assert rating == {
        "@type": "Rating",
        "alternateName": "Broken",
        "ratingValue": 1,
        "bestRating": 6,
        "worstRating": 1,
    }


def test_an_unverified_claim_carries_its_label_and_no_numeric_rating(statuses):
    claim = make_rated_claim(status=get_status("unverified"))

    rating = claim_review(loaded(claim))["reviewRating"]

    assert rating == {"@type": "Rating", "alternateName": "Unverified"}


def test_the_review_is_dated_by_the_latest_published_verdict(statuses):
    claim = make_claim()
    first = timezone.now() - timedelta(days=40)
    record_verdict(claim=claim, status=get_status("unverified"), summary="Open.", published_at=first)
    record_verdict(
        claim=claim, status=get_status("false"), summary="Refuted.", published_at=first + timedelta(days=30)
    )
    record_verdict(claim=claim, status=get_status("true"), summary="Draft.", publish=False)

    review = claim_review(loaded(claim))

    assert review["datePublished"] == timezone.localdate(first + timedelta(days=30)).isoformat()
    assert review["reviewRating"]["alternateName"] == "False"


def test_a_speaker_without_a_role_and_a_source_without_publisher_or_date_are_left_out(statuses):
    claim = make_rated_claim(
        speaker=make_speaker(role=""), source=make_source(publisher="", published_on=None)
    )

    item = claim_review(loaded(claim))["itemReviewed"]

    assert "jobTitle" not in item["author"]
    assert set(item["appearance"]) == {"@type", "url", "headline"}


def test_a_claim_without_a_status_has_no_review(statuses):
    assert claim_review(loaded(make_claim())) is None


def test_the_claim_page_carries_exactly_one_claimreview_with_its_absolute_url(client, statuses):
    claim = make_rated_claim(status=get_status("true"), slug="the-claim")

    _, blocks = page_blocks(client, claim)

    assert len(blocks) == 1
    review = json.loads(blocks[0])
    assert review["@type"] == "ClaimReview"
    assert review["url"] == "http://testserver/claims/the-claim/"
    assert review["reviewRating"]["alternateName"] == "True"


def test_claim_text_cannot_break_out_of_the_script_element(client, statuses):
    hostile = "Ends here </script><script>alert(1)</script> and <!-- a comment & “more”"
    claim = make_rated_claim(
        text=hostile,
        speaker=make_speaker(name="</SCRIPT><b>Name</b>", role="<!--"),
        source=make_source(title="</script>Title", publisher="A & B"),
    )

    html, blocks = page_blocks(client, claim)

    assert len(blocks) == 1
    block = blocks[0]
    assert "</script" not in block.lower()
    assert "<!--" not in block
    assert "<" not in block and ">" not in block
    review = json.loads(block)
    assert review["claimReviewed"] == hostile
    assert review["itemReviewed"]["author"] == {
        "@type": "Person",
        "name": "</SCRIPT><b>Name</b>",
        "jobTitle": "<!--",
    }
    assert review["itemReviewed"]["appearance"]["headline"] == "</script>Title"
    assert "<script>alert(1)" not in html


def test_json_ld_script_reads_back_as_the_same_data():
    data = {"text": "a </script> b <!-- c --> & d \u2028 e “f”", "n": 3}

    script = json_ld_script(data)

    body = JSON_LD.fullmatch(str(script)).group(1)
    assert json.loads(body) == data


@pytest.mark.parametrize(
    "data",
    [
        {"text": 'a </script> b <!-- c --> & d \u2028 e \u2029 “f” \x00 \x1f \\ "', "n": 3, "none": None},
        {"nested": [{"a": [], "b": {}}, [1, -2, True, False]], "empty": "", "ünï": "çödé"},
        {"day": date(2025, 3, 3), "at": datetime(2025, 3, 3, 12, 0, 1, 123456, tzinfo=UTC), "big": 2**70},
        {1: "an integer key"},
    ],
)
def test_json_ld_script_writes_what_json_dumps_writes(data):
    # orjson writes it (times, dates and what orjson refuses go to Django's encoder and json.dumps).
    expected = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    for character, escape in (("<", "\\u003C"), (">", "\\u003E"), ("&", "\\u0026")):
        expected = expected.replace(character, escape)
    expected = expected.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")

    assert JSON_LD.fullmatch(str(json_ld_script(data))).group(1) == expected


# The organisation's URL: ORGANIZATION_URL, else this site's own root -----------------------------------------

FOOTER_LINK = re.compile(r'<footer.*?Fact checks by <a href="([^"]*)">', re.DOTALL)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unset_the_organisation_is_the_site_it_is_served_from_on_any_port(live_server, settings):
    settings.FACTCHECK_ORGANIZATION_URL = ""
    settings.FACTCHECK_SITE_URL = ""
    claim = make_rated_claim(slug="served-here")

    # The live server's own http:// URL.
    with urllib.request.urlopen(live_server.url + claim.get_absolute_url(), timeout=30) as response:  # noqa: S310
        html = response.read().decode()

    root = live_server.url + "/"
    assert ":8000" not in live_server.url  # the old default's port; the live server takes a free one
    assert FOOTER_LINK.search(html).group(1) == root
    (block,) = JSON_LD.findall(html)
    review = json.loads(block)
    assert review["author"]["url"] == root
    assert review["url"] == live_server.url + "/claims/served-here/"


def test_unset_the_organisation_is_the_site_url_when_that_is_set(client, statuses, settings):
    settings.FACTCHECK_ORGANIZATION_URL = ""
    settings.FACTCHECK_SITE_URL = "https://facts.example"
    claim = make_rated_claim()

    html, blocks = page_blocks(client, claim)

    assert FOOTER_LINK.search(html).group(1) == "https://facts.example/"
    assert json.loads(blocks[0])["author"]["url"] == "https://facts.example/"


def test_a_set_organisation_url_is_used_as_it_is(client, statuses, settings):
    settings.FACTCHECK_ORGANIZATION_URL = "https://newsroom.example/about/"
    settings.FACTCHECK_SITE_URL = "https://facts.example"
    claim = make_rated_claim()

    html, blocks = page_blocks(client, claim)

    assert FOOTER_LINK.search(html).group(1) == "https://newsroom.example/about/"
    assert json.loads(blocks[0])["author"]["url"] == "https://newsroom.example/about/"
    assert json.loads(blocks[0])["url"].startswith("https://facts.example/claims/")


def deployment_warnings() -> list[str]:
    return [
        message.id
        for message in checks.run_checks(include_deployment_checks=True)
        if message.id and message.id.startswith("factcheck.")
    ]


@pytest.mark.parametrize("organization_url", ["", "https://newsroom.example/"])
def test_check_deploy_warns_when_site_url_is_not_set(settings, organization_url):
    """ORGANIZATION_URL is not enough: events and webhooks, written with no request, need SITE_URL."""
    settings.FACTCHECK_ORGANIZATION_URL = organization_url
    settings.FACTCHECK_SITE_URL = ""
    assert deployment_warnings() == ["factcheck.W001"]
    (warning,) = [m for m in checks.run_checks(include_deployment_checks=True) if m.id == "factcheck.W001"]
    assert warning.level == checks.WARNING
    assert "Set SITE_URL" in warning.hint
    # Only a deployment check: `manage.py check` and `migrate` in development stay quiet.
    assert not [m for m in checks.run_checks() if m.id == "factcheck.W001"]


@pytest.mark.parametrize(
    ("site_url", "organization_url"),
    [
        ("https://facts.example", ""),
        ("https://facts.example", "https://newsroom.example/"),
    ],
)
def test_check_deploy_is_quiet_when_the_site_says_where_it_is(settings, site_url, organization_url):
    settings.FACTCHECK_SITE_URL = site_url
    settings.FACTCHECK_ORGANIZATION_URL = organization_url
    assert deployment_warnings() == []
