"""Review before publication: editors record drafts, reviewers publish someone else's (issue 7).

The rule lives in claims.services (publication_permission_errors, called by record_verdict and
publish_verdict), so it holds for the admin's claim page, the draft page's Publish button and the
"Publish selected drafts" action alike; each is tested here through real requests. The groups themselves are
pinned in tests/test_editors_group.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, StatusChange, Verdict
from claims.services import publish_verdict, record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(statuses):
    return make_user(editor=True, first_name="Ada", last_name="Editor")


@pytest.fixture
def reviewer(statuses):
    return make_user(reviewer=True, first_name="Rita", last_name="Reviewer")


def draft_by(
    user,
    claim: Claim | None = None,
    slug: str = "true",
    summary: str = "Confirmed by the record.",
    correction_note: str = "",
):
    claim = claim or make_rated_claim(status=get_status("unverified"))
    return record_verdict(
        claim=claim,
        status=get_status(slug),
        summary=summary,
        publish=False,
        by=user,
        correction_note=correction_note,
    )


def public_state(claim: Claim) -> tuple:
    claim.refresh_from_db()
    return (
        claim.status_id,
        claim.status_changed_at,
        Verdict.objects.filter(claim=claim).published().count(),
        StatusChange.objects.filter(claim=claim).count(),
    )


def draft_page(verdict: Verdict) -> str:
    return reverse("admin:claims_verdict_change", args=[verdict.pk])


def publish_url(verdict: Verdict) -> str:
    return reverse("admin:claims_verdict_publish", args=[verdict.pk])


# --- the rule, in the one write path --------------------------------------------------------------------


def test_an_editor_unable_to_publish_their_own_verdict(editor):
    claim = make_rated_claim(status=get_status("unverified"))
    before = public_state(claim)
    verdicts = Verdict.objects.count()

    with pytest.raises(ValidationError, match="not publish them: a reviewer publishes them"):
        record_verdict(claim=claim, status=get_status("true"), summary="Published at once?", by=editor)
    assert Verdict.objects.count() == verdicts  # nothing written, not even a draft

    draft = draft_by(editor, claim)
    with pytest.raises(ValidationError, match="a reviewer publishes them"):
        publish_verdict(verdict=draft, by=editor)
    draft.refresh_from_db()
    assert draft.published_at is None
    assert public_state(claim) == before


def test_an_editor_cannot_publish_anyones_verdict_even_with_review_off(editor, reviewer, settings):
    settings.REVIEW_REQUIRED = False
    draft = draft_by(reviewer)
    with pytest.raises(ValidationError, match="a reviewer publishes them"):
        publish_verdict(verdict=draft, by=editor)
    with pytest.raises(ValidationError, match="a reviewer publishes them"):
        record_verdict(claim=make_claim(), status=get_status("true"), summary="Mine.", by=editor)
    draft.refresh_from_db()
    assert draft.published_at is None


def test_a_reviewer_cannot_publish_their_own_verdict(reviewer):
    claim = make_rated_claim(status=get_status("unverified"))
    before = public_state(claim)
    with pytest.raises(ValidationError, match="published by someone other than its author"):
        record_verdict(claim=claim, status=get_status("true"), summary="My own.", by=reviewer)
    draft = draft_by(reviewer, claim)
    with pytest.raises(ValidationError, match="published by someone other than its author"):
        publish_verdict(verdict=draft, by=reviewer)
    assert public_state(claim) == before


def test_a_superuser_cannot_publish_their_own_verdict_either(statuses):
    chief = make_user(is_staff=True, is_superuser=True)
    draft = draft_by(chief)
    with pytest.raises(ValidationError, match="someone other than its author"):
        publish_verdict(verdict=draft, by=chief)


def test_a_reviewer_publishes_an_editors_draft_and_the_claim_takes_its_status(editor, reviewer):
    draft = draft_by(editor, slug="false", summary="The record shows otherwise.")
    published = publish_verdict(verdict=draft, by=reviewer)
    claim = Claim.objects.get(pk=draft.claim_id)
    assert claim.status.slug == "false" and claim.status_changed_at == published.published_at
    change = StatusChange.objects.get(verdict=draft)
    assert (change.published_by, published.created_by) == (reviewer, editor)


def test_with_review_off_a_reviewer_publishes_their_own_verdict(reviewer, settings):
    settings.REVIEW_REQUIRED = False
    claim = make_rated_claim(status=get_status("unverified"))
    verdict = record_verdict(claim=claim, status=get_status("true"), summary="Mine, at once.", by=reviewer)
    assert verdict.is_published
    draft = draft_by(reviewer, claim, slug="mostly-true", correction_note="A closer count.")
    assert publish_verdict(verdict=draft, by=reviewer).is_published
    claim.refresh_from_db()
    assert claim.status.slug == "mostly-true"


def test_the_system_publishes_and_an_anonymous_user_does_not(statuses):
    # by=None is the system (load_default_data, the commands): its verdicts are published as they load.
    claim = make_claim()
    assert record_verdict(claim=claim, status=get_status("true"), summary="Seeded.").is_published
    draft = draft_by(None, claim, slug="false", correction_note="The record says otherwise.")
    with pytest.raises(ValidationError, match="Log in as a reviewer"):
        publish_verdict(verdict=draft, by=AnonymousUser())
    assert publish_verdict(verdict=draft).is_published


# --- the claim page: no "Publish now" with review on -----------------------------------------------------


def new_verdict_row_offers_publish(client, claim: Claim) -> bool:
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'name="verdicts-2-0-summary"' in page  # the new-verdict row is there
    return 'name="verdicts-2-0-publish"' in page


@pytest.mark.parametrize(
    ("review_required", "role", "offered"),
    [(True, "editor", False), (True, "reviewer", False), (False, "editor", False), (False, "reviewer", True)],
)
def test_publish_now_is_offered_only_with_review_off_and_only_to_reviewers(
    client, settings, editor, reviewer, review_required, role, offered
):
    settings.REVIEW_REQUIRED = review_required
    client.force_login({"editor": editor, "reviewer": reviewer}[role])
    assert new_verdict_row_offers_publish(client, make_claim()) is offered


def test_a_crafted_publish_on_the_claim_page_saves_a_draft_only(django_app, editor):
    claim = make_rated_claim(status=get_status("unverified"))
    before = public_state(claim)
    django_app.set_user(editor)
    form = django_app.get(reverse("admin:claims_claim_change", args=[claim.pk])).forms["claim_form"]
    form["verdicts-2-0-status"].force_value(str(get_status("true").pk))
    form["verdicts-2-0-summary"] = "Sneaked out?"
    # A field the page does not have, as a crafted request would send it.
    fields = [*form.submit_fields("_save"), ("verdicts-2-0-publish", "on")]
    response = django_app.post(reverse("admin:claims_claim_change", args=[claim.pk]), fields)
    assert response.status_code == 302
    assert "awaiting review" in response.follow().text
    assert public_state(claim) == before
    assert claim.verdicts.drafts().get().summary == "Sneaked out?"


# --- the draft's page: the Publish button ------------------------------------------------------------------


def test_an_editor_sees_no_publish_button_and_a_posted_publish_is_refused(client, editor):
    draft = draft_by(editor)
    client.force_login(editor)
    page = client.get(draft_page(draft)).content.decode()
    assert 'id="publish-form"' not in page and 'value="Publish"' not in page
    assert "A draft by Ada Editor, awaiting review" in page
    assert "You may record draft verdicts but not publish them" in page

    response = client.post(publish_url(draft), follow=True)
    assert response.status_code == 200
    assert "Not published: You may record draft verdicts but not publish them" in response.content.decode()
    draft.refresh_from_db()
    assert draft.published_at is None


def test_a_reviewer_sees_no_publish_button_on_their_own_draft_and_a_post_is_refused(client, reviewer):
    draft = draft_by(reviewer)
    client.force_login(reviewer)
    page = client.get(draft_page(draft)).content.decode()
    assert 'id="publish-form"' not in page
    assert "published by someone other than its author: another reviewer publishes this one." in page
    response = client.post(publish_url(draft), follow=True)
    assert (
        "Not published: A verdict is published by someone other than its author" in response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.published_at is None


def test_a_reviewer_publishes_an_editors_draft_with_the_button(django_app, editor, reviewer):
    draft = draft_by(editor, slug="false", summary="The figures were revised down.")
    django_app.set_user(reviewer)
    page = django_app.get(draft_page(draft))
    assert "Preview on the site" in page.text
    response = page.forms["publish-form"].submit()

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:claims_claim_change", args=[draft.claim_id])
    assert "Published: the claim&#x27;s status is now “False”." in response.follow().text
    claim = Claim.objects.get(pk=draft.claim_id)
    assert claim.status.slug == "false"
    assert StatusChange.objects.get(verdict=draft).published_by == reviewer
    # Published, the verdict is history: no button, and a second press is refused with a message.
    again = django_app.post(
        publish_url(draft), {"csrfmiddlewaretoken": page.forms["publish-form"]["csrfmiddlewaretoken"].value}
    )
    assert "Not published: This verdict is already published." in again.follow().text


def test_the_publish_url_takes_a_post_with_its_csrf_token_only(django_app, client, editor, reviewer):
    draft = draft_by(editor)
    client.force_login(reviewer)
    assert client.get(publish_url(draft)).status_code == 405
    django_app.set_user(reviewer)
    assert django_app.post(publish_url(draft), expect_errors=True).status_code == 403  # no CSRF token
    draft.refresh_from_db()
    assert draft.published_at is None
    missing = client.post(reverse("admin:claims_verdict_publish", args=["999999"]))
    assert missing.status_code == 302  # the admin's "does not exist" redirect, not a 500
    client.force_login(make_user(is_staff=True))  # staff who may not even see verdicts
    assert client.post(publish_url(draft)).status_code == 403
    draft.refresh_from_db()
    assert draft.published_at is None


def test_with_review_off_a_reviewer_has_the_button_on_their_own_draft(client, reviewer, settings):
    settings.REVIEW_REQUIRED = False
    draft = draft_by(reviewer)
    client.force_login(reviewer)
    assert 'id="publish-form"' in client.get(draft_page(draft)).content.decode()
    client.post(publish_url(draft))
    draft.refresh_from_db()
    assert draft.is_published


def test_publish_selected_drafts_is_offered_to_reviewers_only_and_refuses_their_own(client, editor, reviewer):
    editors_draft, own_draft = draft_by(editor), draft_by(reviewer)
    changelist = reverse("admin:claims_verdict_changelist")

    client.force_login(editor)
    assert 'value="publish_drafts"' not in client.get(changelist).content.decode()
    response = client.post(
        changelist, {"action": "publish_drafts", "_selected_action": [editors_draft.pk]}, follow=True
    )
    assert response.status_code == 200  # the list again, the action not run
    editors_draft.refresh_from_db()
    assert not editors_draft.is_published

    client.force_login(reviewer)
    assert 'value="publish_drafts"' in client.get(changelist).content.decode()
    response = client.post(
        changelist,
        {"action": "publish_drafts", "_selected_action": [editors_draft.pk, own_draft.pk]},
        follow=True,
    )
    content = response.content.decode()
    assert "Published 1 draft(s)." in content
    assert "Not published:" in content and "someone other than its author" in content
    editors_draft.refresh_from_db(), own_draft.refresh_from_db()
    assert editors_draft.is_published and not own_draft.is_published


def test_a_reviewer_may_discard_a_draft_but_an_editor_may_not(client, editor, reviewer):
    draft = draft_by(editor)
    delete_url = reverse("admin:claims_verdict_delete", args=[draft.pk])
    client.force_login(editor)
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.force_login(reviewer)
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Verdict.objects.filter(pk=draft.pk).exists()


# --- the "Awaiting review" queue on the admin index ---------------------------------------------------------


def queue(client) -> str:
    page = client.get(reverse("admin:index")).content.decode()
    found = re.search(r'<div class="module" id="awaiting-review">.*?</div>', page, re.S)
    return found[0] if found else ""


def age(verdict: Verdict, days: int) -> None:
    Verdict.objects.filter(pk=verdict.pk).update(created_at=timezone.now() - timedelta(days=days, hours=2))


def test_the_queue_lists_drafts_oldest_first_with_author_and_age(client, editor, reviewer):
    newer = draft_by(editor, make_claim(text="A newer claim."))
    older = draft_by(reviewer, make_claim(text="An older claim <b>bold</b>."))
    system = draft_by(None, make_claim(text="A seeded claim."))
    age(older, 3), age(newer, 1)
    make_rated_claim(status=get_status("true"), text="A published claim.")

    client.force_login(editor)
    shown = queue(client)
    assert "Awaiting review (3)" in shown
    rows = re.findall(r"<tr>.*?</tr>", shown, re.S)[1:]
    assert [re.search(r'href="([^"]+)"', row)[1] for row in rows] == [
        draft_page(older),
        draft_page(newer),
        draft_page(system),
    ]
    assert "An older claim &lt;b&gt;bold&lt;/b&gt;." in rows[0] and "Rita Reviewer" in rows[0]
    assert ">3\xa0days<" in rows[0]
    assert "Ada Editor" in rows[1] and ">1\xa0day<" in rows[1]
    assert "A published claim." not in shown


def test_the_queue_costs_the_same_few_queries_for_1_and_25_drafts_and_links_to_the_rest(client, editor):
    client.force_login(editor)

    def index_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:index")).status_code == 200
        return len(queries)

    draft_by(editor)
    one = index_queries()
    for _ in range(24):
        draft_by(editor)
    # Session, user, permissions (2), the drafts with their count, the overdue claims with theirs
    # (review_queue.overdue_queue), the admin's "Recent actions".
    assert index_queries() == one == 7
    shown = queue(client)
    assert "Awaiting review (25)" in shown
    assert len(re.findall(r"<tr>", shown)) == 1 + 20
    assert f'href="{reverse("admin:claims_verdict_changelist")}?published=no">All 25 drafts' in shown


def test_the_queue_is_not_shown_to_staff_who_cannot_view_verdicts(client, editor):
    draft_by(editor)
    clerk = make_user(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_speaker"))
    client.force_login(clerk)
    assert queue(client) == ""


# --- the staff preview of a draft ------------------------------------------------------------------------


def preview_url(verdict: Verdict) -> str:
    return reverse("claims:verdict-preview", args=[verdict.pk])


def test_staff_preview_a_draft_on_the_public_layout_marked_noindex_and_never_cached(client, editor):
    claim = make_rated_claim(status=get_status("false"), text="Prices doubled in a year.")
    draft = draft_by(editor, claim, slug="mostly-true", summary="New figures: <i>nearly</i> doubled.")
    client.force_login(editor)

    response = client.get(preview_url(draft))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Preview — this verdict is a draft, not public." in content
    assert '<meta name="robots" content="noindex, nofollow">' in content
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert "application/ld+json" not in content and 'rel="canonical"' not in content
    assert "New figures: &lt;i&gt;nearly&lt;/i&gt; doubled." in content
    assert "Mostly true" in content and "(draft, in preview)" in content
    assert "Checked against the record." in content  # the published timeline below it
    assert draft_page(draft) in content

    # The public page is unchanged, and nothing was written.
    client.logout()
    public = client.get(claim.get_absolute_url()).content.decode()
    assert "nearly" not in public and "Preview" not in public
    draft.refresh_from_db()
    assert draft.published_at is None


def test_a_draft_on_a_claim_never_published_can_be_previewed(client, editor):
    claim = make_claim(text="A brand new claim.")
    draft = draft_by(editor, claim, summary="First look.")
    client.force_login(editor)
    response = client.get(preview_url(draft))
    assert response.status_code == 200
    assert "A brand new claim." in response.content.decode() and "First look." in response.content.decode()
    client.logout()
    assert client.get(claim.get_absolute_url()).status_code == 404


def test_the_preview_does_not_exist_for_anyone_but_staff_who_view_verdicts(client, editor):
    draft = draft_by(editor)
    url = preview_url(draft)
    assert client.get(url).status_code == 404  # anonymous
    client.force_login(make_user())  # logged in, not staff
    assert client.get(url).status_code == 404
    client.force_login(make_user(is_staff=True))  # staff without view permission on verdicts
    response = client.get(url)
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]
    client.force_login(editor)
    assert client.get(reverse("claims:verdict-preview", args=[999999])).status_code == 404


def test_a_published_verdicts_preview_is_its_claims_page(client, editor, reviewer):
    draft = draft_by(editor)
    publish_verdict(verdict=draft, by=reviewer)
    client.force_login(editor)
    response = client.get(preview_url(draft))
    assert response.status_code == 302
    assert response["Location"] == Claim.objects.get(pk=draft.claim_id).get_absolute_url()


def test_the_preview_costs_a_fixed_number_of_queries(client, editor):
    claim = make_rated_claim(status=get_status("false"))
    for n in range(5):
        publish_verdict(
            verdict=draft_by(
                None,
                claim,
                slug="false" if n % 2 else "true",
                summary=f"Step {n}.",
                correction_note=f"Reason {n}.",
            )
        )
    draft = draft_by(editor, claim)
    client.force_login(editor)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(preview_url(draft)).status_code == 200
    # Session, user, permissions (2), the draft with its evidence, the claim, its published timeline.
    assert len(queries) == 7
