"""No lost edits: a save from a page opened before someone else's save is refused, with who changed what,
and the editor's input kept; saves write only what the editor changed.

The model-level guarantees run two transactions at once on two database connections (threads, as in
tests/test_write_path.py); the admin's through django-webtest, two editors taking turns on one app.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django_webtest import DjangoTestApp
from django_webtest.response import DjangoWebtestResponse

from claims.audit import acting_as
from claims.models import Claim, Kind, Source, Speaker, Status, Verdict
from claims.services import StatusSeen, record_verdict, save_claim, save_draft, save_edit
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker, make_user
from tests.test_admin import new_verdict_prefix
from tests.test_write_path import Held, InThread, assert_invariants, someone_waits_for_a_lock, wait_until


def version_of(obj) -> int:
    return type(obj).objects.filter(pk=obj.pk).values_list("version", flat=True).get()


def page_text(response: DjangoWebtestResponse) -> str:
    return html.unescape(response.text)


@pytest.fixture
def ada(statuses):
    # She publishes: every permission, should publishing become a reviewer's (the review workflow).
    return make_user(editor=True, is_superuser=True, username="ada", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def grace(statuses):
    return make_user(editor=True, username="grace", first_name="Grace", last_name="Hopper")


# --- the version, moved by the database ---------------------------------------------------------------------


@pytest.mark.django_db
def test_every_writer_moves_the_version_and_nobody_sets_it(statuses):
    speaker = make_speaker(name="Yuri Ushakov", role="Aide")
    assert version_of(speaker) == 1

    Speaker.objects.filter(pk=speaker.pk).update(role="Kremlin aide")  # a queryset update
    assert version_of(speaker) == 2
    with connection.cursor() as cursor:  # raw SQL
        cursor.execute("UPDATE claims_speaker SET description = 'Adviser.' WHERE id = %s", [speaker.pk])
    assert version_of(speaker) == 3
    Speaker.objects.filter(pk=speaker.pk).update(version=1, role="Kremlin aide")  # by hand, same values
    assert version_of(speaker) == 3
    Speaker.objects.filter(pk=speaker.pk).update(updated_at=datetime(2025, 5, 19).astimezone())  # a touch
    assert version_of(speaker) == 3


@pytest.mark.django_db
def test_a_claims_version_counts_its_editors_fields_not_a_publication_or_a_speakers_rename(statuses):
    claim = make_claim(kind=Kind.FACT)
    record_verdict(claim=claim, status=get_status("true"), summary="Published.")
    Speaker.objects.filter(pk=claim.speaker_id).update(name="Renamed")  # copied into the claim by a trigger
    assert version_of(claim) == 1
    assert Claim.objects.get(pk=claim.pk).speaker_name == "Renamed"

    Claim.objects.filter(pk=claim.pk).update(quote="Verbatim.", fidelity="paraphrase")  # a quote needs one
    assert version_of(claim) == 2


# --- two saves from one version, on two connections -----------------------------------------------------------


def claim_edit(obj: Claim, version: int, **fields: object) -> Callable[[], object]:
    copy = Claim.objects.get(pk=obj.pk)
    for name, value in fields.items():
        setattr(copy, name, value)
    return lambda: save_claim(claim=copy, expected_version=version, fields=list(fields))


def speaker_edit(obj: Speaker, version: int, **fields: object) -> Callable[[], object]:
    copy = Speaker.objects.get(pk=obj.pk)
    for name, value in fields.items():
        setattr(copy, name, value)
    return lambda: save_edit(obj=copy, fields=list(fields), expected_version=version)


def draft_edit(obj: Verdict, version: int, **fields: object) -> Callable[[], object]:
    values = {"status": obj.status, "summary": obj.summary, "explanation": obj.explanation, **fields}
    return lambda: save_draft(verdict=obj, expected_version=version, fields=list(fields), **values)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("make", "edit", "first", "second", "label"),
    [
        (lambda: make_claim(text="Old text.", quote="Old quote."), claim_edit, "text", "quote", "Text"),
        (lambda: make_speaker(name="Old name", role="Old role"), speaker_edit, "name", "role", "Name"),
        (
            lambda: record_verdict(
                claim=make_claim(), status=get_status("true"), summary="Old summary.", publish=False
            ),
            draft_edit,
            "summary",
            "explanation",
            "Summary",
        ),
    ],
    ids=["claim", "speaker", "draft verdict"],
)
def test_of_two_saves_from_the_same_version_one_is_written_and_the_other_refused(
    statuses, make, edit, first, second, label
):
    obj = make()
    version = version_of(obj)
    before = {name: getattr(type(obj).objects.get(pk=obj.pk), name) for name in (first, second)}
    ada = make_user(username="ada", first_name="Ada", last_name="Lovelace")
    first_save = edit(obj, version, **{first: "The first save."})

    def as_ada() -> object:
        with acting_as(ada):  # recorded as hers in the audit history, as a request would be
            return first_save()

    with Held(as_ada):
        later = InThread(edit(obj, version, **{second: "The second save."}))
        assert wait_until(someone_waits_for_a_lock), "the second save did not wait for the first one's lock"
    with pytest.raises(ValidationError) as refused:
        later.wait()

    (headline, current) = refused.value.messages
    # Who and which field, from the audit history (a service caller passes no opened values).
    assert headline.startswith(f"Since you opened this page, Ada Lovelace changed {label} (")
    assert current == f"{label} is now: “The first save.”"
    saved = type(obj).objects.get(pk=obj.pk)
    assert (getattr(saved, first), getattr(saved, second)) == ("The first save.", before[second])
    assert saved.version == version + 1
    assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_verdict_recorded_against_a_status_published_over_meanwhile_is_refused(statuses, settings):
    # Rita records and publishes her own verdict at once: a newsroom of one (review off).
    settings.REVIEW_REQUIRED = False
    reviewer = make_user(reviewer=True, username="rev", first_name="Rita", last_name="Reviewer")
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    seen = StatusSeen(changed_at=claim.status_changed_at)

    publishing = lambda: record_verdict(  # noqa: E731
        claim=claim, status=get_status("true"), summary="Hers.", by=reviewer, correction_note="The record."
    )
    with Held(publishing):
        mine = InThread(
            lambda: record_verdict(
                claim=claim,
                status=get_status("mostly-true"),
                summary="Mine.",
                publish=False,
                status_seen=seen,
            )
        )
        assert wait_until(someone_waits_for_a_lock), "the second verdict did not wait for the claim's lock"
    with pytest.raises(ValidationError) as refused:
        mine.wait()

    assert "Rita Reviewer published a verdict: the claim's status is now “True”" in refused.value.messages[0]
    assert list(claim.verdicts.order_by("id").values_list("summary", flat=True)) == [
        "Checked against the record.",
        "Hers.",
    ]
    # Against the status it has now seen, the same verdict is recorded.
    claim.refresh_from_db()
    record_verdict(
        claim=claim,
        status=get_status("mostly-true"),
        summary="Mine.",
        publish=False,
        status_seen=StatusSeen(changed_at=claim.status_changed_at),
    )
    assert claim.verdicts.drafts().get().summary == "Mine."
    assert_invariants()


# --- the admin: a stale page is shown again, with who changed what -----------------------------------------


def claim_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


@pytest.mark.django_db
def test_a_stale_claim_page_names_who_changed_what_keeps_the_input_and_writes_nothing(django_app, ada, grace):
    claim = make_claim(text="The old text.", quote="The old quote.")
    adas = django_app.get(claim_url(claim), user=ada).forms["claim_form"]
    graces = django_app.get(claim_url(claim), user=grace).forms["claim_form"]
    adas["quote"] = "Ada's quote."
    assert adas.submit("_save", user=ada).status_code == 302

    graces["text"] = "Grace's text."
    response = graces.submit("_save", user=grace)

    assert response.status_code == 200
    shown = page_text(response)
    assert "Since you opened this page, Ada Lovelace changed Quote (" in shown
    assert "Your changes are kept below" in shown
    assert "Quote is now: “Ada's quote.”" in shown
    again = response.forms["claim_form"]
    assert again["text"].value == "Grace's text."  # what Grace typed
    assert again["quote"].value == "Ada's quote."  # the current value, where Grace had typed nothing
    claim.refresh_from_db()
    assert (claim.text, claim.quote) == ("The old text.", "Ada's quote.")

    # Saved again after seeing: only what Grace changed is written; Ada's quote stays.
    assert again.submit("_save", user=grace).status_code == 302
    claim.refresh_from_db()
    assert (claim.text, claim.quote) == ("Grace's text.", "Ada's quote.")


@pytest.mark.django_db
def test_when_both_changed_the_same_field_the_page_keeps_mine_and_shows_theirs(django_app, ada, grace):
    claim = make_claim(text="The old text.")
    adas = django_app.get(claim_url(claim), user=ada).forms["claim_form"]
    graces = django_app.get(claim_url(claim), user=grace).forms["claim_form"]
    adas["text"] = "Ada's text."
    assert adas.submit("_save", user=ada).status_code == 302

    graces["text"] = "Grace's <b>text</b>."
    response = graces.submit("_save", user=grace)

    assert response.status_code == 200
    assert "Text is now: “Ada's text.”" in page_text(response)
    assert "<b>text</b>" not in response.text  # escaped in the field as everywhere
    assert response.forms["claim_form"]["text"].value == "Grace's <b>text</b>."
    assert Claim.objects.get(pk=claim.pk).text == "Ada's text."


@pytest.mark.django_db
def test_a_stale_page_saved_without_changes_writes_nothing_and_is_not_refused(django_app, ada, grace):
    claim = make_claim(text="The old text.")
    adas = django_app.get(claim_url(claim), user=ada).forms["claim_form"]
    graces = django_app.get(claim_url(claim), user=grace).forms["claim_form"]
    adas["text"] = "Ada's text."
    assert adas.submit("_save", user=ada).status_code == 302
    version = version_of(claim)

    assert graces.submit("_save", user=grace).status_code == 302

    claim.refresh_from_db()
    assert (claim.text, claim.version) == ("Ada's text.", version)


def _speaker() -> Speaker:
    return make_speaker(name="Yuri Ushakov", role="Aide")


def _source() -> Source:
    return make_source(title="The old title", publisher="Express & Star")


def _status() -> Status:
    return Status.objects.create(scale="accuracy", slug="odd", label="Odd", position=2, colour="#123456")


def _draft() -> Verdict:
    return record_verdict(claim=make_claim(), status=get_status("true"), summary="A draft.", publish=False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "theirs", "mine", "changed"),
    [
        (_speaker, {"name": "Yuri V. Ushakov"}, {"role": "Kremlin aide"}, ["Name is now: “Yuri V. Ushakov”"]),
        (
            _source,
            # Sources' archived text and time moved to SourceSnapshot: the date field here is published_on.
            {"title": "The new title", "published_on": "20/05/2025"},
            {"publisher": "AP"},
            ["Title is now: “The new title”", "Published on is now: “2025-05-20”"],
        ),
        (_status, {"label": "Strange"}, {"colour": "#654321"}, ["Label is now: “Strange”"]),
        (
            _draft,
            {"summary": "Her summary."},
            {"explanation": "My reasoning."},
            ["Summary is now: “Her summary.”"],
        ),
    ],
    ids=["speaker", "source", "status", "draft verdict"],
)
def test_every_edit_page_refuses_a_stale_save_then_writes_only_what_the_editor_changed(
    django_app, ada, grace, settings, make, theirs, mine, changed
):
    settings.TIME_ZONE = "Europe/London"
    obj = make()
    model = type(obj)._meta.model_name
    if model == "status":
        # Editors only read statuses (the Editors group, migration 0014): a superuser edits them.
        grace.is_superuser = True
        grace.save(update_fields=["is_superuser"])
    url = reverse(f"admin:claims_{model}_change", args=[obj.pk])
    adas = django_app.get(url, user=ada).forms[f"{model}_form"]
    graces = django_app.get(url, user=grace).forms[f"{model}_form"]
    for name, value in theirs.items():
        adas[name] = value
    assert adas.submit("_save", user=ada).status_code == 302
    for name, value in mine.items():
        graces[name] = value

    response = graces.submit("_save", user=grace)

    assert response.status_code == 200
    shown = page_text(response)
    assert "Since you opened this page, Ada Lovelace changed " in shown
    for line in changed:
        assert line in shown
    again = response.forms[f"{model}_form"]
    for name, value in {**theirs, **mine}.items():
        assert again[name].value == value, name
    after_ada = type(obj).objects.get(pk=obj.pk)
    assert after_ada.version == version_of(obj)

    assert again.submit("_save", user=grace).status_code == 302
    saved = type(obj).objects.get(pk=obj.pk)
    assert saved.version == after_ada.version + 1
    for name in [*theirs, *mine]:
        field = name.removesuffix("_0").removesuffix("_1")
        expected = getattr(after_ada, field) if name in theirs else mine[name]
        assert getattr(saved, field) == expected, field


@pytest.mark.django_db
def test_a_verdict_recorded_after_another_was_published_is_shown_again_with_the_newer_status(
    django_app: DjangoTestApp, ada, grace, settings
):
    # Ada publishes from the claim's page at once: review off (with it on, nobody publishes from there).
    settings.REVIEW_REQUIRED = False
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    adas = django_app.get(claim_url(claim), user=ada).forms["claim_form"]
    graces = django_app.get(claim_url(claim), user=grace).forms["claim_form"]
    row = new_verdict_prefix(adas)
    adas[row + "status"].force_value(str(get_status("true").pk))
    adas[row + "summary"] = "Ada's verdict."
    adas[row + "correction_note"] = "The record was found."  # a fact's changed rating: a correction
    assert adas.submit("_save", user=ada).status_code == 302

    graces[row + "status"].force_value(str(get_status("mostly-true").pk))
    graces[row + "summary"] = "Grace's verdict."
    graces[row + "correction_note"] = "Mostly: one figure is off."
    # Grace, an editor, records a draft: she is offered no "Publish now".
    assert row + "publish" not in graces.fields
    response = graces.submit("_save", user=grace)

    assert response.status_code == 200
    assert "Ada Lovelace published a verdict: the claim's status is now “True”" in page_text(response)
    again = response.forms["claim_form"]
    assert again[row + "summary"].value == "Grace's verdict."
    assert again[row + "status"].value == str(get_status("mostly-true").pk)
    assert not claim.verdicts.drafts().exists()

    assert again.submit("_save", user=grace).status_code == 302
    assert claim.verdicts.drafts().get().summary == "Grace's verdict."
    claim.refresh_from_db()
    assert claim.status.slug == "true"


@pytest.mark.django_db
def test_the_status_lists_editable_rows_write_only_what_the_editor_changed(django_app, ada, grace):
    # Editors only read statuses (migration 0014): two superusers edit the list.
    grace.is_superuser = True
    grace.save(update_fields=["is_superuser"])
    status = _status()
    url = reverse("admin:claims_status_changelist")
    adas = django_app.get(url, user=ada).forms["changelist-form"]
    graces = django_app.get(url, user=grace).forms["changelist-form"]
    (row,) = [
        name.removesuffix("id")
        for name in adas.fields
        if name and name.endswith("-id") and adas[name].value == str(status.pk)
    ]
    adas[row + "label"] = "Strange"
    assert adas.submit("_save", user=ada).status_code == 302

    graces[row + "colour"] = "#654321"
    assert graces.submit("_save", user=grace).status_code == 302

    status.refresh_from_db()
    assert (status.label, status.colour) == ("Strange", "#654321")
