"""The editors' interface, through Django's test client, logged in as a member of the Editors group (and, where
a verdict is published from a claim's page, as a reviewer in a newsroom of one: REVIEW_REQUIRED off).

tests/test_review.py tests review before publication itself.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django_webtest import DjangoTestApp
from django_webtest.response import DjangoWebtestResponse
from webtest.forms import Form, Select

from claims.models import Claim, Kind, Source, Speaker, Status, StatusChange, Verdict, slug_for
from claims.services import EvidenceItem, publish_verdict, record_verdict
from tests.factories import (
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_source,
    make_speaker,
    make_status,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(statuses):
    return make_user(editor=True, first_name="Ada", last_name="Editor")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def editor_app(django_app, editor) -> DjangoTestApp:
    """A browser-like client (django-webtest) logged in as the editor: it submits forms as a browser does."""
    django_app.set_user(editor)
    return django_app


@pytest.fixture
def publisher(statuses, settings):
    """A newsroom of one: review is off, and this reviewer publishes their own verdicts from a claim's page."""
    settings.REVIEW_REQUIRED = False
    return make_user(reviewer=True, first_name="Pat", last_name="Publisher")


@pytest.fixture
def publisher_app(django_app, publisher) -> DjangoTestApp:
    django_app.set_user(publisher)
    return django_app


def change_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def claim_form(app: DjangoTestApp, url: str) -> Form:
    """The claim page's change form as a browser has it (django-webtest reads the page's HTML)."""
    return app.get(url).forms["claim_form"]


def new_verdict_prefix(form: Form) -> str:
    (name,) = [name for name in form.fields if name.endswith("-0-summary") and "__prefix__" not in name]
    return name.removesuffix("-0-summary") + "-0-"


def fill(form: Form, name: str, value: object) -> None:
    field = form[name]
    if isinstance(field, Select):
        # Autocomplete selects hold only their chosen option, and the status select only the claim's
        # scale: a browser's script (or a crafted request) can send any value, as here.
        field.force_value(str(value))
    else:
        field.value = str(value)


def submit_claim_form(
    form: Form, *, verdict: dict | None = None, publish: bool | None = None, **claim_fields: object
) -> DjangoWebtestResponse:
    """Fill in the claim's fields and the new-verdict row, tick or untick "Publish now" when `publish` says
    (the row offers it only with review off, to those who may publish), and press Save."""
    for name, value in claim_fields.items():
        fill(form, name, value)
    row = new_verdict_prefix(form)
    for name, value in (verdict or {}).items():
        fill(form, row + name, value)
    if publish is not None:
        form[row + "publish"].checked = publish
    return form.submit("_save")


def post_claim_page(app: DjangoTestApp, url: str, **changes: Any) -> DjangoWebtestResponse:
    """GET the claim page, fill in what a browser would, and POST it back with these changes."""
    return submit_claim_form(claim_form(app, url), **changes)


def select_options(content: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{re.escape(name)}".*?</select>', content, re.S)
    assert select is not None, name
    return [html.unescape(label).strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select[0])]


def snapshot(claim: Claim) -> tuple:
    claim.refresh_from_db()
    return (
        claim.text,
        claim.status_id,
        claim.status_changed_at,
        list(claim.verdicts.values_list("pk", flat=True)),
        StatusChange.objects.filter(claim=claim).count(),
    )


# The claim list ---------------------------------------------------------------------------------------------


def test_the_claim_list_shows_text_speaker_kind_said_on_and_a_coloured_status(editor_client):
    speaker = make_speaker(name="Yuri Ushakov")
    make_rated_claim(
        status=get_status("misleading"), speaker=speaker, text="Talks will begin immediately, he said."
    )
    response = editor_client.get(reverse("admin:claims_claim_changelist"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Talks will begin immediately, he said." in content
    assert "Yuri Ushakov" in content
    assert "19 May 2025" in content
    assert re.search(r'<span style="background:#b45309;[^"]*">Misleading</span>', content)
    assert '<td class="field-kind">Fact</td>' in content


def test_a_status_label_is_escaped_in_its_badge(editor_client):
    status = make_status(label="<b>Bold</b>", colour="#123456")
    make_rated_claim(status=status)
    content = editor_client.get(reverse("admin:claims_claim_changelist")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;" in content
    assert "<b>Bold</b>" not in content


def test_the_claim_list_filters_by_status_kind_and_speaker(editor_client):
    alice, bob = make_speaker(name="Alice Example"), make_speaker(name="Bob Example")
    make_rated_claim(status=get_status("false"), speaker=alice, text="Alice's false fact.")
    make_rated_claim(status=get_status("kept"), speaker=bob, kind=Kind.PROMISE, text="Bob's kept promise.")
    make_claim(speaker=alice, text="Alice's unrated fact.")
    url = reverse("admin:claims_claim_changelist")

    def texts(query: dict) -> set[str]:
        content = editor_client.get(url, query).content.decode()
        return {
            text
            for text in ("Alice's false fact.", "Bob's kept promise.", "Alice's unrated fact.")
            if html.escape(text) in content
        }

    false = get_status("false")
    assert texts({"status__id__exact": false.pk}) == {"Alice's false fact."}
    assert texts({"status__isnull": "True"}) == {"Alice's unrated fact."}
    assert texts({"kind__exact": "promise"}) == {"Bob's kept promise."}
    assert texts({"speaker": alice.slug}) == {"Alice's false fact.", "Alice's unrated fact."}
    assert texts({"speaker": alice.slug, "kind__exact": "fact", "status__id__exact": false.pk}) == {
        "Alice's false fact."
    }
    assert texts({"speaker": "nobody-by-that-slug"}) == set()


def test_the_speaker_filter_lists_only_the_speakers_whose_name_matches(editor_client):
    ushakov = make_speaker(name="Yuri Ushakov", role="Kremlin aide")
    make_speaker(name="Donald Trump")
    make_claim(speaker=ushakov)
    url = reverse("admin:claims_claim_changelist")

    unused = editor_client.get(url).content.decode()
    assert "Find a speaker by name" in unused
    assert "Donald Trump" not in unused  # no speaker is listed until asked for

    found = editor_client.get(url, {"find_speaker": "usha", "kind__exact": "fact"}).content.decode()
    assert "Yuri Ushakov (Kremlin aide)" in found
    assert "Donald Trump" not in found
    # Choosing the match keeps the other filters and drops the name search.
    assert f'href="?kind__exact=fact&amp;speaker={ushakov.slug}"' in found
    # The name search form keeps the other filters too.
    assert '<input type="hidden" name="kind__exact" value="fact">' in found


def test_searching_the_claim_list_finds_claims_by_speaker_name_text_and_quote(editor_client):
    make_rated_claim(speaker=make_speaker(name="Yuri Ushakov"), text="A prisoner exchange is planned.")
    make_rated_claim(text="Ceasefire talks begin.", quote="They will start immediately.")
    make_rated_claim(text="Something else entirely.")
    url = reverse("admin:claims_claim_changelist")

    by_speaker = editor_client.get(url, {"q": "Ushakov"}).content.decode()
    assert "A prisoner exchange is planned." in by_speaker
    assert "Ceasefire talks begin." not in by_speaker

    by_quote = editor_client.get(url, {"q": "immediately"}).content.decode()
    assert "Ceasefire talks begin." in by_quote
    assert "Something else entirely." not in by_quote

    odd = editor_client.get(url, {"q": '"unclosed & | ! : * ( ) ü'})
    assert odd.status_code == 200


@pytest.mark.parametrize("claims", [1, 100])
def test_the_claim_list_costs_the_same_queries_for_1_and_100_claims(
    editor_client, claims, django_assert_num_queries
):
    make_rated_claims(claims)
    url = reverse("admin:claims_claim_changelist")
    # session, user, the editor's permissions (user + group), count, the page of claims, the status filter.
    with django_assert_num_queries(7):
        response = editor_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('<td class="field-current_status">') == claims


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(
    ("model", "queries"),
    # session, user, permissions (2), count, the page; plus one for a filter listing statuses.
    [("verdict", 7), ("statuschange", 7), ("evidence", 6), ("speaker", 6), ("source", 6), ("status", 7)],
)
def test_every_other_list_costs_the_same_queries_for_1_and_20_rows(
    editor_client, model, queries, rows, django_assert_num_queries
):
    for _ in range(rows):
        make_rated_claim(
            status=make_status(), evidence=[EvidenceItem(source=make_source(), note="Shows it.")]
        )
    with django_assert_num_queries(queries):
        response = editor_client.get(reverse(f"admin:claims_{model}_changelist"))
    assert response.status_code == 200
    assert (
        len(re.findall(r'<tr><(?:td class="action-checkbox"|th class="field-)', response.content.decode()))
        == {
            "verdict": rows,
            "statuschange": rows,
            "evidence": rows,
            "speaker": rows,
            "source": 2 * rows,
            "status": rows + Status.objects.exclude(slug__startswith="status-").count(),
        }[model]
    )


@pytest.mark.parametrize("verdicts", [1, 5])
def test_a_claims_page_costs_the_same_queries_for_1_and_5_verdicts(
    editor_client, verdicts, django_assert_num_queries
):
    claim = make_claim(kind=Kind.FACT)
    for n in range(verdicts):
        record_verdict(
            claim=claim,
            status=get_status("false"),
            summary=f"Verdict number {n}.",
            evidence=[
                EvidenceItem(source=make_source(), note="Shows it."),
                EvidenceItem(source=make_source()),
            ],
        )
    # Django caches content types per process; start without, so the count does not depend on test order.
    ContentType.objects.clear_cache()
    # session, user, permissions (2), the claim with speaker and status, the timeline with evidence, the
    # content type (the page's history link), the selected speaker and source (autocomplete widgets), and
    # the new row's status options, and the similar claims (the "Similar claims" panel).
    with django_assert_num_queries(11):
        response = editor_client.get(change_url(claim))
    assert response.status_code == 200
    assert response.content.decode().count('<td class="field-summary">') == verdicts


# Recording a verdict on the claim's page --------------------------------------------------------------------


def test_the_status_select_offers_only_the_statuses_of_the_claims_scale(editor_client):
    fact, promise = make_claim(kind=Kind.FACT), make_claim(kind=Kind.PROMISE)

    fact_page = editor_client.get(change_url(fact)).content.decode()
    fact_options = select_options(fact_page, "verdicts-2-0-status")
    assert fact_options[1:] == [str(s) for s in Status.objects.filter(scale="accuracy")]
    assert "True (accuracy)" in fact_options and "Kept (tracking)" not in fact_options

    promise_options = select_options(
        editor_client.get(change_url(promise)).content.decode(), "verdicts-2-0-status"
    )
    assert promise_options[1:] == [str(s) for s in Status.objects.filter(scale="tracking")]

    # A claim not saved yet has no kind to go by: every status is offered, and the form checks the pair.
    add_page = editor_client.get(reverse("admin:claims_claim_add")).content.decode()
    assert len(select_options(add_page, "verdicts-2-0-status")) == 1 + Status.objects.count()


def test_recording_a_verdict_on_the_claims_page_moves_its_status_at_once_with_review_off(
    publisher_app, client, publisher
):
    claim = make_rated_claim(status=get_status("unverified"), kind=Kind.FACT)
    report = make_source(title="Prisoner exchange completed", publisher="Reuters")
    url = change_url(claim)

    response = post_claim_page(
        publisher_app,
        url,
        publish=True,
        verdict={
            "status": get_status("true").pk,
            "summary": "Nine prisoners were exchanged on each side.",
            "explanation": "Both governments confirmed the exchange.",
            "source_1": report.pk,
            "note_1": "Names all eighteen people.",
        },
    )

    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status.slug == "true"
    verdict = claim.verdicts.get(summary="Nine prisoners were exchanged on each side.")
    assert verdict.is_published and verdict.created_by == publisher
    assert claim.status_changed_at == verdict.published_at
    change = StatusChange.objects.get(verdict=verdict)
    assert (change.from_status.slug, change.to_status.slug, change.published_by) == (
        "unverified",
        "true",
        publisher,
    )
    assert [(e.source, e.note) for e in verdict.evidence.all()] == [(report, "Names all eighteen people.")]

    listing = response.follow().text
    assert "Published: the claim&#x27;s status is now “True”." in listing
    client.force_login(publisher)
    page = client.get(url).content.decode()
    assert "Nine prisoners were exchanged on each side." in page
    assert "Names all eighteen people." in page
    assert re.search(r'<span style="background:#15803d;[^"]*">True</span>', page)


def test_leaving_the_new_verdict_row_blank_saves_only_the_claim(editor_app, editor_client):
    claim = make_rated_claim(status=get_status("false"))
    # A paraphrase: the source has no archived text a verbatim quote could be checked against.
    response = post_claim_page(
        editor_app,
        change_url(claim),
        quote="Exactly as said.",
        fidelity="paraphrase",
        correction_note="The quote is now as said.",
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.quote, claim.fidelity) == ("Exactly as said.", "paraphrase")
    assert claim.verdicts.count() == 1
    assert StatusChange.objects.filter(claim=claim).count() == 1


def test_a_status_of_the_other_scale_is_refused_with_a_message_and_nothing_is_saved(
    editor_app, editor_client
):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT, text="The original text.")
    before = snapshot(claim)

    response = post_claim_page(
        editor_app,
        change_url(claim),
        text="An edited text that must not be saved either.",
        verdict={"status": get_status("kept").pk, "summary": "Kept, apparently."},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert (
        "“Kept” is on the Tracking (promises and predictions) scale; a Fact claim is rated on the " in content
    )
    assert "Accuracy (facts) scale." in content
    assert snapshot(claim) == before


def test_citing_a_source_twice_or_a_note_without_a_source_is_refused(editor_app, editor_client):
    claim = make_claim(kind=Kind.FACT)
    source = make_source()
    before = snapshot(claim)
    response = post_claim_page(
        editor_app,
        change_url(claim),
        verdict={
            "status": get_status("true").pk,
            "summary": "Confirmed.",
            "source_1": source.pk,
            "source_2": source.pk,
            "note_3": "A note about nothing.",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Each source can be cited once per verdict." in content
    assert "Choose the source this note is about." in content
    assert snapshot(claim) == before


def test_a_verdict_with_no_summary_is_refused(editor_app, editor_client):
    claim = make_claim(kind=Kind.FACT)
    before = snapshot(claim)
    response = post_claim_page(editor_app, change_url(claim), verdict={"status": get_status("true").pk})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert snapshot(claim) == before


def test_a_verdict_the_service_refuses_is_shown_with_its_reason_and_nothing_is_saved(publisher_app):
    # The claim's last verdict carries a publication time a few seconds ahead (within the service's leeway
    # for clocks), so a verdict published now would come before it: only record_verdict can tell.
    claim = make_claim(kind=Kind.FACT, text="The original text.")
    record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="First.",
        published_at=timezone.now() + timedelta(seconds=40),
    )
    before = snapshot(claim)

    response = post_claim_page(
        publisher_app,
        change_url(claim),
        text="An edited text that must not be saved either.",
        verdict={"status": get_status("true").pk, "summary": "Second."},
        publish=True,
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "The claim already has a verdict published at" in content
    assert "a new one must be published after it." in content
    assert "Second." in content  # the editor's input is kept on the page
    assert snapshot(claim) == before


@pytest.mark.parametrize("review_required", [True, False])
def test_a_verdict_an_editor_records_is_a_draft_that_changes_nothing_public(
    editor_app, editor_client, settings, review_required
):
    # An editor may not publish, review or not: the row never offers "Publish now" to them.
    settings.REVIEW_REQUIRED = review_required
    claim = make_rated_claim(status=get_status("false"))
    form = claim_form(editor_app, change_url(claim))
    assert not [name for name in form.fields if name and name.endswith("-publish")]
    # Changing a published rating needs its reason (the corrections rule), draft or not.
    response = submit_claim_form(
        form,
        verdict={
            "status": get_status("true").pk,
            "summary": "Draft: new figures suggest otherwise.",
            "correction_note": "New figures from the statistics office.",
        },
    )
    assert response.status_code == 302
    assert ("awaiting review: a reviewer publishes it" in response.follow().text) is review_required
    claim.refresh_from_db()
    assert claim.status.slug == "false"
    draft = claim.verdicts.get(summary="Draft: new figures suggest otherwise.")
    assert draft.published_at is None
    assert StatusChange.objects.filter(claim=claim).count() == 1
    page = editor_client.get(change_url(claim)).content.decode()
    assert "Draft: not public. Open it to edit or publish it." in page


def test_an_unticked_publish_saves_a_draft_that_changes_nothing_public(publisher_app):
    claim = make_rated_claim(status=get_status("false"))
    response = post_claim_page(
        publisher_app,
        change_url(claim),
        verdict={
            "status": get_status("true").pk,
            "summary": "Draft: new figures suggest otherwise.",
            "correction_note": "New figures from the statistics office.",
        },
        publish=False,
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status.slug == "false"
    draft = claim.verdicts.get(summary="Draft: new figures suggest otherwise.")
    assert draft.published_at is None
    assert StatusChange.objects.filter(claim=claim).count() == 1


def test_publishing_drafts_from_the_verdict_list_makes_them_the_claims_status(client, statuses):
    # A reviewer publishes drafts someone else wrote (here the system: by=None).
    reviewer = make_user(reviewer=True)
    client.force_login(reviewer)
    claim = make_rated_claim(status=get_status("false"))
    draft = record_verdict(
        claim=claim,
        status=get_status("true"),
        summary="Corrected.",
        publish=False,
        correction_note="Misread.",
    )
    published = claim.verdicts.exclude(pk=draft.pk).get()
    response = client.post(
        reverse("admin:claims_verdict_changelist"),
        {"action": "publish_drafts", "_selected_action": [draft.pk, published.pk]},
        follow=True,
    )
    content = response.content.decode()
    assert "To record a new verdict, open its claim" in content
    assert "Published 1 draft(s)." in content
    assert "1 selected verdict(s) were already published." in content
    claim.refresh_from_db()
    draft.refresh_from_db()
    assert claim.status.slug == "true" and draft.is_published
    assert StatusChange.objects.get(verdict=draft).published_by == reviewer


def test_adding_a_claim_with_its_first_verdict(publisher_app):
    speaker, source = make_speaker(), make_source()
    url = reverse("admin:claims_claim_add")
    fields = {
        "speaker": speaker.pk,
        "source": source.pk,
        "text": "Talks will begin immediately.",
        "slug": "talks-begin-immediately",
        "kind": Kind.PREDICTION,
        "said_on": "2025-05-19",
        "due_on": "2025-05-26",
    }
    refused = post_claim_page(
        publisher_app,
        url,
        verdict={"status": get_status("true").pk, "summary": "Talks began."},
        publish=True,
        **fields,
    )
    assert refused.status_code == 200
    assert (
        "a Prediction claim is rated on the Tracking (promises and predictions) scale."
        in refused.content.decode()
    )
    assert not Claim.objects.filter(slug="talks-begin-immediately").exists()

    added = post_claim_page(
        publisher_app,
        url,
        verdict={"status": get_status("open").pk, "summary": "Not yet."},
        publish=True,
        **fields,
    )
    assert added.status_code == 302
    claim = Claim.objects.get(slug="talks-begin-immediately")
    assert claim.status.slug == "open"
    assert StatusChange.objects.filter(claim=claim, to_status__slug="open").count() == 1


def test_a_rated_claim_cannot_move_to_the_other_scale(editor_app, editor_client):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    response = post_claim_page(editor_app, change_url(claim), kind=Kind.PROMISE)
    assert response.status_code == 200
    assert "cannot become a claim of the other scale" in response.content.decode()
    claim.refresh_from_db()
    assert claim.kind == Kind.FACT


def test_a_fact_with_a_due_date_is_refused_with_a_message(editor_app, editor_client):
    claim = make_claim(kind=Kind.FACT)
    response = post_claim_page(editor_app, change_url(claim), due_on="2025-06-01")
    assert response.status_code == 200
    assert "Only promises and predictions have a due date" in response.content.decode()


def test_the_evidence_source_autocomplete_answers_editors(editor_client):
    make_source(title="Prisoner exchange completed")
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "claims", "model_name": "evidence", "field_name": "source", "term": "prisoner"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [
        "Prisoner exchange completed (The Daily Record)"
    ]


# History is read-only -----------------------------------------------------------------------------------------


def test_published_verdicts_are_read_only(editor_client):
    claim = make_rated_claim(status=get_status("false"))
    verdict = claim.verdicts.get()
    url = reverse("admin:claims_verdict_change", args=[verdict.pk])

    page = editor_client.get(url).content.decode()
    assert 'name="summary"' not in page and 'name="_save"' not in page
    assert "Checked against the record." in page
    refused = editor_client.post(url, {"summary": "Rewritten.", "status": verdict.status_id, "_save": "Save"})
    assert refused.status_code == 403
    assert editor_client.post(reverse("admin:claims_verdict_delete", args=[verdict.pk])).status_code == 403
    verdict.refresh_from_db()
    assert verdict.summary == "Checked against the record."

    claim_page = editor_client.get(change_url(claim)).content.decode()
    assert 'name="verdicts-0-summary"' not in claim_page  # the timeline row has no inputs
    assert "Checked against the record." in claim_page


def test_a_drafts_summary_can_be_edited_until_it_is_published(editor_client):
    claim = make_rated_claim(status=get_status("false"))
    draft = record_verdict(claim=claim, status=get_status("true"), summary="First draft.", publish=False)
    url = reverse("admin:claims_verdict_change", args=[draft.pk])
    page = editor_client.get(url).content.decode()
    assert select_options(page, "status")[1:] == [str(s) for s in Status.objects.filter(scale="accuracy")]
    response = editor_client.post(
        url,
        {
            "status": get_status("mostly-true").pk,
            "summary": "Second draft.",
            "explanation": "",
            "evidence-TOTAL_FORMS": "0",
            "evidence-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.summary, draft.status.slug, draft.published_at) == ("Second draft.", "mostly-true", None)


def test_saving_a_draft_that_was_published_meanwhile_is_refused_with_a_message(editor_client, monkeypatch):
    from claims.admin import VerdictAdmin

    claim = make_rated_claim(status=get_status("false"))
    draft = record_verdict(
        claim=claim,
        status=get_status("true"),
        summary="First draft.",
        publish=False,
        correction_note="Misread.",
    )
    save_model = VerdictAdmin.save_model

    def published_meanwhile(self, request, obj, form, change):
        # Another editor publishes the draft between this editor's form check and the save.
        publish_verdict(verdict=Verdict.objects.get(pk=obj.pk))
        save_model(self, request, obj, form, change)

    monkeypatch.setattr(VerdictAdmin, "save_model", published_meanwhile)
    url = reverse("admin:claims_verdict_change", args=[draft.pk])
    data = {"status": draft.status_id, "summary": "Rewritten.", "explanation": "", "_save": "Save"}
    data |= {"evidence-TOTAL_FORMS": "0", "evidence-INITIAL_FORMS": "0"}
    response = editor_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "Nothing was saved. This verdict was published meanwhile" in response.content.decode()
    draft.refresh_from_db()
    # The whole request was rolled back: the publication inside it too, and the summary is unchanged.
    assert (draft.summary, draft.published_at) == ("First draft.", None)


def test_status_changes_cannot_be_added_edited_or_deleted(editor_client):
    claim = make_rated_claim(status=get_status("false"))
    change = StatusChange.objects.get(claim=claim)
    assert editor_client.get(reverse("admin:claims_statuschange_changelist")).status_code == 200
    page = editor_client.get(reverse("admin:claims_statuschange_change", args=[change.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert editor_client.get(reverse("admin:claims_statuschange_add")).status_code == 403
    assert (
        editor_client.post(reverse("admin:claims_statuschange_delete", args=[change.pk])).status_code == 403
    )


def test_an_editor_cannot_delete_claims(editor_client):
    claim = make_claim()
    assert (
        editor_client.post(reverse("admin:claims_claim_delete", args=[claim.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_an_editor_cannot_manage_users_or_groups(editor_client):
    assert editor_client.get("/admin/auth/user/").status_code == 403
    assert editor_client.get("/admin/auth/group/").status_code == 403
    index = editor_client.get("/admin/").content.decode()
    assert "/admin/auth/" not in index
    assert "/admin/claims/claim/" in index


def test_editors_cannot_edit_statuses_at_all(editor_client):
    status = get_status("misleading")
    url = reverse("admin:claims_status_change", args=[status.pk])
    page = editor_client.get(url).content.decode()
    assert 'name="label"' not in page and 'type="color"' not in page  # the page is read-only
    listing = editor_client.get(reverse("admin:claims_status_changelist")).content.decode()
    assert "Misleading" in listing and 'name="form-0-label"' not in listing
    response = editor_client.post(url, {"label": "Missing context", "position": 3, "colour": "#a16207"})
    assert response.status_code == 403
    assert editor_client.get(reverse("admin:claims_status_add")).status_code == 403
    status.refresh_from_db()
    assert (status.label, status.colour) == ("Misleading", "#b45309")


def test_superusers_can_rename_and_recolour_a_status_but_not_change_its_scale_or_slug(client, statuses):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    status = get_status("misleading")
    url = reverse("admin:claims_status_change", args=[status.pk])
    page = client.get(url).content.decode()
    assert 'name="scale"' not in page and 'name="slug"' not in page
    assert 'type="color"' in page
    response = client.post(
        url,
        {
            "label": "Missing context",
            "position": 3,
            "colour": "#a16207",
            "description": "",
            "scale": "tracking",
        },
    )
    assert response.status_code == 302
    status.refresh_from_db()
    assert (status.label, status.colour, status.scale, status.slug) == (
        "Missing context",
        "#a16207",
        "accuracy",
        "misleading",
    )


def test_the_list_pages_of_every_model_open_for_an_editor(editor_client):
    claim = make_rated_claim(
        status=get_status("false"), evidence=[EvidenceItem(source=make_source(), note="Page 2.")]
    )
    record_verdict(claim=claim, status=get_status("true"), summary="Draft.", publish=False)
    for model in ("speaker", "source", "status", "claim", "verdict", "evidence", "statuschange"):
        assert editor_client.get(reverse(f"admin:claims_{model}_changelist")).status_code == 200, model
    drafts = editor_client.get(
        reverse("admin:claims_verdict_changelist"), {"published": "no"}
    ).content.decode()
    assert "Draft." in drafts and "Checked against the record." not in drafts
    assert Verdict.objects.count() == 2


def test_citing_a_source_the_draft_already_cites_is_a_form_error_on_the_evidence_page(editor_client):
    first, second = make_source(title="First report"), make_source(title="Second report")
    draft = record_verdict(
        claim=make_claim(),
        status=get_status("true"),
        summary="A draft.",
        evidence=[EvidenceItem(source=first), EvidenceItem(source=second)],
        publish=False,
    )
    evidence = draft.evidence.get(source=second)
    url = reverse("admin:claims_evidence_change", args=[evidence.pk])

    response = editor_client.post(url, {"source": first.pk, "note": "Now the first.", "position": 1})

    assert response.status_code == 200
    assert "Each source can be cited once per verdict." in response.content.decode()
    evidence.refresh_from_db()
    assert (evidence.source, evidence.note) == (second, "")


@pytest.mark.parametrize("value", ["abc", "9" * 5000])
def test_a_crafted_autocomplete_value_is_a_form_error_not_a_500(editor_app, editor_client, value):
    claim = make_claim(text="The old text.")
    source = make_source()
    draft = record_verdict(
        claim=make_claim(),
        status=get_status("true"),
        summary="A draft.",
        evidence=[EvidenceItem(source=source)],
        publish=False,
    )
    choose = "Select a valid choice. That choice is not one of the available choices."

    claim_page = post_claim_page(
        editor_app, change_url(claim), text="The new text.", source=value, verdict={"source_1": value}
    )
    evidence_page = editor_client.post(
        reverse("admin:claims_evidence_change", args=[draft.evidence.get().pk]),
        {"source": value, "note": "", "position": 0},
    )

    assert claim_page.status_code == 200
    assert claim_page.content.decode().count(choose) == 2  # the claim's source and the verdict's
    assert evidence_page.status_code == 200
    assert choose in evidence_page.content.decode()
    claim.refresh_from_db()
    assert claim.text == "The old text."


# What a new editor meets on the claim's page -----------------------------------------------------------------


def test_slug_help_texts_show_the_address_with_an_example(editor_client):
    """Django's admin shows help texts as HTML: "/claims/<slug>/" read as "/claims//"."""
    claim_page = editor_client.get(reverse("admin:claims_claim_add")).content.decode()
    speaker_page = editor_client.get(reverse("admin:claims_speaker_add")).content.decode()

    assert "“talks-begin-immediately” for /claims/talks-begin-immediately/." in html.unescape(claim_page)
    assert "“donald-trump” for /speakers/donald-trump/." in html.unescape(speaker_page)
    assert "Filled in from the text as you type; left empty, made from it." in claim_page
    for page in (claim_page, speaker_page):
        assert "//." not in page and "<slug>" not in page


def readonly_value(page: str, field: str) -> str | None:
    found = re.search(rf'field-{field}\b.*?<div class="readonly">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)).strip() if found else None


def test_the_add_claim_page_shows_no_status_or_record_of_a_claim_not_saved_yet(editor_client):
    page = editor_client.get(reverse("admin:claims_claim_add")).content.decode()

    for field in ("current_status", "status_changed_at", "created_at", "updated_at"):
        assert f"field-{field}" not in page, field
    assert '<div class="readonly">None</div>' not in page
    assert "Fill this in to record a new verdict" in page  # how the claim gets its status


def test_an_unrated_claims_page_says_it_is_not_rated(editor_client):
    unrated = make_claim()
    rated = make_rated_claim(status=get_status("false"))

    page = editor_client.get(change_url(unrated)).content.decode()
    assert readonly_value(page, "current_status") == "not rated"
    assert readonly_value(page, "status_changed_at") == "not rated"
    assert readonly_value(page, "created_at") not in (None, "not rated", "None")
    rated_page = editor_client.get(change_url(rated)).content.decode()
    assert "False</span>" in readonly_value(rated_page, "current_status")


def new_claim_fields(**fields: object) -> dict[str, object]:
    return {
        "speaker": make_speaker().pk,
        "source": make_source().pk,
        "text": "Unemployment fell by 1.5 million.",
        "slug": "unemployment-fell",
        "kind": Kind.FACT,
        "said_on": timezone.localdate().isoformat(),
        **fields,
    }


def test_a_claim_said_after_today_is_refused_with_a_message_and_nothing_is_saved(editor_app, editor_client):
    tomorrow = timezone.localdate() + timedelta(days=1)
    url = reverse("admin:claims_claim_add")

    refused = post_claim_page(editor_app, url, **new_claim_fields(said_on=tomorrow.isoformat()))

    assert refused.status_code == 200
    assert "A claim cannot have been said in the future: today is" in refused.text
    assert not Claim.objects.filter(slug="unemployment-fell").exists()

    claim = make_claim(said_on=timezone.localdate() - timedelta(days=3))
    edited = post_claim_page(editor_app, change_url(claim), said_on=tomorrow.isoformat())
    assert edited.status_code == 200
    assert "A claim cannot have been said in the future" in edited.text
    claim.refresh_from_db()
    assert claim.said_on == timezone.localdate() - timedelta(days=3)

    today = post_claim_page(editor_app, url, **new_claim_fields())
    assert today.status_code == 302
    assert Claim.objects.get(slug="unemployment-fell").said_on == timezone.localdate()


def test_a_slug_left_empty_is_made_from_the_text_keeping_numbers_apart(editor_app, editor_client):
    url = reverse("admin:claims_claim_add")

    saved = post_claim_page(editor_app, url, **new_claim_fields(slug=""))

    assert saved.status_code == 302
    assert Claim.objects.filter(slug="unemployment-fell-by-1-5-million").exists()

    taken = post_claim_page(editor_app, url, **new_claim_fields(slug=""))
    assert taken.status_code == 200
    assert "Claim with this Slug already exists." in taken.text

    no_words = post_claim_page(editor_app, url, **new_claim_fields(slug="", text="?!…"))
    assert no_words.status_code == 200
    assert "Give the claim a slug: its text has no letters or digits to make one from." in no_words.text
    assert Claim.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Unemployment fell by 1.5 million", "unemployment-fell-by-1-5-million"),
        ("Inflation was 3.2% in 2024", "inflation-was-3-2-in-2024"),
        ("The 9/11 commission met 1,000 times", "the-9-11-commission-met-1-000-times"),
        ("Talks begin. 2 sides agree", "talks-begin-2-sides-agree"),
        ("Version 2.0 ships on 1 June.", "version-2-0-ships-on-1-june"),
        ("Up 50%, from 1 to 1.5", "up-50-from-1-to-1-5"),
    ],
)
def test_a_slug_keeps_numbers_apart_and_reads_as_djangos_otherwise(text, slug):
    assert slug_for(text) == slug


def test_a_url_typed_without_its_scheme_is_saved_as_https(editor_client):
    response = editor_client.post(
        reverse("admin:claims_speaker_add"),
        {
            "name": "Yuri Ushakov",
            "slug": "yuri-ushakov",
            "role": "",
            "description": "",
            "url": "kremlin.example/ushakov",
        },
    )
    assert response.status_code == 302
    assert Speaker.objects.get(slug="yuri-ushakov").url == "https://kremlin.example/ushakov"


# --- times the database could not give back -------------------------------------------------------------


FUTURE_CAPTURE = "A text cannot have been captured in the future."
OUT_OF_RANGE = "Enter a time between the years 1 and 9999 in UTC."


@pytest.mark.parametrize(
    ("time_zone", "day", "time", "refusal"),
    [
        ("UTC", "0001-01-01", "00:00:00", None),
        ("UTC", "9999-12-31", "23:59:59", FUTURE_CAPTURE),
        ("America/New_York", "0001-01-01", "00:00:00", None),
        ("Asia/Tokyo", "9999-12-31", "23:59:59", FUTURE_CAPTURE),
        # In UTC these are in the years 0 and 10000: PostgreSQL would store them, Python not read them.
        ("Asia/Tokyo", "0001-01-01", "00:00:00", OUT_OF_RANGE),
        ("America/New_York", "9999-12-31", "23:59:59", OUT_OF_RANGE),
    ],
)
def test_an_archive_time_outside_the_years_1_to_9999_in_utc_is_refused(
    editor_client, settings, time_zone, day, time, refusal
):
    settings.TIME_ZONE = time_zone
    form = {
        "title": "Archived",
        "publisher": "The Daily Record",
        "url": "https://news.example/archived",
        "published_on": day,
        # The archived texts (read-only, none yet) and the new capture's row.
        "snapshots-TOTAL_FORMS": "0",
        "snapshots-INITIAL_FORMS": "0",
        "snapshots-2-TOTAL_FORMS": "1",
        "snapshots-2-INITIAL_FORMS": "0",
        "snapshots-2-0-text": "The text.",
        "snapshots-2-0-captured_at_0": day,
        "snapshots-2-0-captured_at_1": time,
    }

    response = editor_client.post(reverse("admin:claims_source_add"), form)

    if refusal is None:
        assert response.status_code == 302
        source = Source.objects.get(title="Archived")
        assert source.latest_snapshot().text == "The text."
        assert editor_client.get(reverse("admin:claims_source_change", args=[source.pk])).status_code == 200
    else:
        assert response.status_code == 200
        assert refusal in response.content.decode()
        assert not Source.objects.exists()


# A lookup typed into a list's URL that PostgreSQL or Python could not take: refused as Django refuses any
# other bad lookup (the list again with ?e=1), never a 500.
OUT_OF_RANGE_LOOKUPS = [
    "verdict/?published_at__gte=2025-01-01T00:00:00%2B23:59",
    "statuschange/?published_at__lt=2025-01-01T00:00:00-16:00",
    "claim/?created_at__gte=9999-12-31T23:59:59-01:00",
    "source/?updated_at__lte=0001-01-01T00:00:00%2B01:00",
    "verdict/?published_at__year=99999",
    "speaker/?created_at__year__gte=0",
]


@pytest.mark.parametrize("lookup", OUT_OF_RANGE_LOOKUPS)
def test_a_time_the_database_cannot_take_in_a_list_url_is_refused_not_a_500(editor_client, lookup):
    make_rated_claim()
    path = "/admin/claims/" + lookup.split("?")[0]

    response = editor_client.get("/admin/claims/" + lookup)

    assert response.status_code == 302
    assert response["Location"] == path + "?e=1"


def test_a_time_with_an_offset_postgresql_takes_still_filters_a_list(editor_client):
    claim = make_rated_claim()

    response = editor_client.get("/admin/claims/verdict/?published_at__gte=2000-01-01T00:00:00%2B15:59")

    assert response.status_code == 200
    assert claim.text in response.content.decode()
