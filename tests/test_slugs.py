"""A renamed slug keeps the old URL working (issue 7): /claims/<old>/, /speakers/<old>/ and
/api/v1/speakers/<old>/ answer with a 301 to the current address, the query string kept. The database records
every old slug (migration 0016), and never gives one to another claim or speaker.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from claims.models import Claim, OldClaimSlug, OldSpeakerSlug, Speaker
from claims.services import record_verdict, save_claim
from tests.factories import SITE_CLOCK, get_status, make_claim, make_rated_claim, make_speaker, make_user
from tests.test_admin import change_url, post_claim_page
from tests.test_api_errors import problem_body

pytestmark = pytest.mark.django_db


def renamed(claim: Claim, slug: str) -> Claim:
    copy = Claim.objects.get(pk=claim.pk)
    copy.slug = slug
    return save_claim(claim=copy)


@pytest.fixture
def editor_app(django_app, statuses):
    django_app.set_user(make_user(editor=True))
    return django_app


def test_a_published_claims_old_slug_redirects_permanently_to_its_page_keeping_the_query(client, statuses):
    claim = make_rated_claim(slug="talks-begin")
    renamed(claim, "talks-begin-immediately")

    response = client.get("/claims/talks-begin/?utm_source=mail&x=%C3%A9")

    assert response.status_code == 301
    assert response["Location"] == "/claims/talks-begin-immediately/?utm_source=mail&x=%C3%A9"
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/claims/never-was/").status_code == 404


def test_a_claim_renamed_twice_redirects_from_both_old_slugs_in_one_hop(client, statuses):
    claim = make_rated_claim(slug="first")
    renamed(claim, "second")
    renamed(claim, "third")

    assert client.get("/claims/first/")["Location"] == "/claims/third/"
    assert client.get("/claims/second/")["Location"] == "/claims/third/"
    assert set(OldClaimSlug.objects.values_list("slug", flat=True)) == {"first", "second"}


def test_taking_back_an_old_slug_drops_its_redirect(client, statuses):
    claim = make_rated_claim(slug="first")
    renamed(claim, "second")
    renamed(claim, "first")

    assert client.get("/claims/first/").status_code == 200
    assert client.get("/claims/second/")["Location"] == "/claims/first/"
    assert list(OldClaimSlug.objects.values_list("slug", flat=True)) == ["second"]


def test_an_unpublished_claims_slug_changes_leave_no_redirect(statuses):
    claim = make_claim(slug="draft-address")
    record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)
    renamed(claim, "better-address")

    assert OldClaimSlug.objects.count() == 0


def test_an_old_slug_is_never_given_to_another_claim(statuses):
    claim = make_rated_claim(slug="taken-once")
    renamed(claim, "moved-on")

    with pytest.raises(IntegrityError, match="another claim's old address"), transaction.atomic():
        make_claim(slug="taken-once")
    other = make_claim(slug="other")
    with pytest.raises(IntegrityError, match="another claim's old address"), transaction.atomic():
        Claim.objects.filter(pk=other.pk).update(slug="taken-once")
    assert OldClaimSlug.objects.get().claim_id == claim.pk


def test_the_admin_refuses_another_claims_old_slug_with_a_message(editor_app, statuses):
    old_owner = make_rated_claim(slug="old-address")
    renamed(old_owner, "new-address")
    claim = make_claim(slug="mine")

    response = post_claim_page(editor_app, change_url(claim), slug="old-address")

    assert response.status_code == 200
    assert "“old-address” is the old address of another claim" in response.text
    claim.refresh_from_db()
    assert claim.slug == "mine"


def test_the_admin_renames_a_published_claim_without_a_correction_note(editor_app, client, statuses):
    claim = make_rated_claim(slug="before")

    response = post_claim_page(editor_app, change_url(claim), slug="after")

    assert response.status_code == 302
    assert client.get("/claims/before/")["Location"] == "/claims/after/"


def test_a_speakers_old_slug_redirects_on_the_page_in_the_api_and_filters_their_claims(
    editor_app, client, statuses
):
    speaker = make_speaker(name="Yuri Ushakov", slug="ushakov")
    claim = make_rated_claim(speaker=speaker)
    page = editor_app.get(reverse("admin:claims_speaker_change", args=[speaker.pk]))
    form = page.forms["speaker_form"]
    form["slug"] = "yuri-ushakov"
    assert form.submit("_save").status_code == 302

    assert client.get("/speakers/ushakov/?cursor=x")["Location"] == "/speakers/yuri-ushakov/?cursor=x"
    api = client.get("/api/v1/speakers/ushakov/?format=json")
    assert api.status_code == 301
    assert api["Location"] == "/api/v1/speakers/yuri-ushakov/?format=json"
    assert client.get(api["Location"]).json()["slug"] == "yuri-ushakov"
    listed = client.get("/api/v1/claims/?speaker=ushakov").json()["results"]
    assert [item["id"] for item in listed] == [claim.pk]
    assert problem_body(client.get("/api/v1/speakers/nobody/"), 404)["status"] == 404


def test_an_old_speaker_slug_is_refused_to_another_speaker(editor_app, statuses):
    speaker = make_speaker(slug="first-speaker")
    Speaker.objects.filter(pk=speaker.pk).update(slug="renamed-speaker")
    other = make_speaker(slug="other-speaker")

    page = editor_app.get(reverse("admin:claims_speaker_change", args=[other.pk]))
    form = page.forms["speaker_form"]
    form["slug"] = "first-speaker"
    response = form.submit("_save")

    assert response.status_code == 200
    assert "“first-speaker” is the old address of another speaker" in response.text
    with pytest.raises(IntegrityError, match="another speaker's old address"), transaction.atomic():
        make_speaker(slug="first-speaker")
    assert OldSpeakerSlug.objects.get().speaker_id == speaker.pk


def test_a_claim_page_and_a_speaker_page_cost_what_they_did(client, statuses, django_assert_num_queries):
    speaker = make_speaker(slug="same")
    claim = make_rated_claim(slug="same-claim", speaker=speaker)
    renamed(claim, "same-claim-renamed")

    with django_assert_num_queries(SITE_CLOCK + 2):
        assert client.get("/claims/same-claim-renamed/").status_code == 200
    # The old slug: the page's query finds nothing, and one more finds the redirect.
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert client.get("/claims/same-claim/").status_code == 301
