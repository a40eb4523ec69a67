"""Where issue 7's rules meet: an old slug, a quote's fidelity and its check, the preview of a draft.

Each test is a flow an editor or reviewer goes through, across the rules of more than one part (old slugs and
the slug made from the text; the quote's check and an edit that does not touch it; the preview and the
published page).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from claims.models import Claim, Fidelity, Kind
from claims.services import record_verdict, save_claim
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker, make_user
from tests.test_admin import change_url, post_claim_page

pytestmark = pytest.mark.django_db

ARTICLE = "Moscow said talks would begin soon. “We are ready to work with Ukraine,” Putin said on Monday."


@pytest.fixture
def editor_app(django_app, statuses):
    django_app.set_user(make_user(editor=True))
    return django_app


def add_claim(app, **fields):
    return post_claim_page(app, reverse("admin:claims_claim_add"), **fields)


def test_a_slug_made_from_the_text_that_is_another_claims_old_address_is_a_form_error(editor_app):
    claim = make_rated_claim(text="Talks begin soon.", slug="talks-begin-soon")
    claim.slug = "talks-begin-at-once"
    save_claim(claim=claim)  # the old slug now leads to it
    speaker, source = make_speaker(), make_source()

    response = add_claim(
        editor_app,
        text="Talks begin soon",
        slug="",  # left empty: made from the text, which gives the old address
        speaker=speaker.pk,
        source=source.pk,
        kind=Kind.FACT,
        said_on="2025-05-19",
    )

    assert response.status_code == 200  # the form again, not a 500
    assert "is the old address of another claim" in response.text
    assert not Claim.objects.filter(speaker=speaker).exists()


def test_a_quote_left_at_the_default_fidelity_is_checked_as_verbatim(editor_app):
    speaker, source = make_speaker(name="Vladimir Putin"), make_source(archived_text=ARTICLE)

    response = add_claim(
        editor_app,
        text="Russia is ready to work with Ukraine.",
        quote="We are ready to work with Ukraine,",
        fidelity="",
        speaker=speaker.pk,
        source=source.pk,
        kind=Kind.FACT,
        said_on="2025-05-19",
    )

    assert response.status_code == 302, response.text
    claim = Claim.objects.get(speaker=speaker)
    assert claim.fidelity == Fidelity.VERBATIM and claim.quote_verified


def test_an_edit_that_leaves_an_unverified_quote_alone_is_saved(editor_app):
    # A verbatim quote the migration could not confirm (its source had no archived text): still unverified.
    claim = make_claim(quote="Words no capture holds.", fidelity=Fidelity.VERBATIM, kind=Kind.PROMISE)
    assert not claim.quote_verified

    response = post_claim_page(editor_app, change_url(claim), due_on="2026-01-31")

    assert response.status_code == 302, response.text
    claim.refresh_from_db()
    assert (claim.due_on.isoformat(), claim.quote_verified) == ("2026-01-31", False)
    # Touching the quote checks it: not in any capture, refused.
    refused = post_claim_page(editor_app, change_url(claim), quote="Other words no capture holds.")
    assert refused.status_code == 200
    assert "archived text" in refused.text


def test_the_preview_shows_the_quote_as_the_published_page_will(client, statuses):
    speaker, source = make_speaker(name="Vladimir Putin"), make_source(archived_text=ARTICLE)
    claim = make_claim(quote="We are ready to work with Ukraine,", speaker=speaker, source=source)
    assert claim.quote_verified
    editor = make_user(editor=True)
    draft = record_verdict(
        claim=claim, status=get_status("true"), summary="He said so.", publish=False, by=editor
    )
    client.force_login(editor)

    preview = client.get(reverse("claims:verdict-preview", args=[draft.pk])).content.decode()

    assert "As quoted in" in preview
    assert "<mark>We are ready to work with Ukraine,</mark>" in preview
