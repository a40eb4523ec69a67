"""The audit history (claims/audit.py): every insert, update and delete of every claims model leaves an
append-only event row with the old and new values, who and through what, whoever wrote it; the admin's
History page shows it, newest first, in words."""

from __future__ import annotations

import html
import io
import os
import re

import psycopg
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse
from django_webtest import DjangoTestApp
from pghistory.models import Context
from playwright.sync_api import expect

from claims.audit import acting_as, events_after, history_of, latest_event_id
from claims.models import (
    Claim,
    Evidence,
    LoadedDataSet,
    Source,
    Speaker,
    Status,
    StatusChange,
    Verdict,
)
from claims.services import EvidenceItem, record_verdict
from factcheck.backups import backup_database, restore_database
from tests.factories import (
    get_status,
    make_claim,
    make_rated_claim,
    make_source,
    make_speaker,
    make_user,
)
from tests.test_admin_browser import editor_page
from tests.test_backups import _conninfo, scratch_database  # noqa: F401 (a fixture)
from tests.test_browser import CHROMIUM

pytestmark = pytest.mark.django_db

TRACKED = [Speaker, Source, Status, Claim, Verdict, Evidence, StatusChange, LoadedDataSet]


@pytest.fixture
def editor(statuses):
    return make_user(editor=True, first_name="Ada", last_name="Editor")


@pytest.fixture
def editor_app(django_app, editor) -> DjangoTestApp:
    django_app.set_user(editor)
    return django_app


def events_of(obj):
    """The raw event rows of one object, oldest first."""
    return list(type(obj).pgh_event_model.objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id"))


def context_of(event) -> dict:
    return event.pgh_context.metadata if event.pgh_context_id else {}


# Every way of writing leaves an event --------------------------------------------------------------------


def test_a_raw_sql_update_of_a_claim_leaves_a_history_row_with_the_old_and_new_text():
    claim = make_claim(text="The ceasefire talks begin immediately.")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_claim SET text = %s WHERE id = %s", ["The talks begin next week.", claim.pk]
        )

    created, updated = events_of(claim)
    assert created.pgh_label == "insert"
    assert updated.pgh_label == "update"
    # The row holds both values itself, and the new row as written.
    assert updated.pgh_changes == {
        "text": ["The ceasefire talks begin immediately.", "The talks begin next week."]
    }
    assert updated.text == "The talks begin next week."
    # Written outside any request or command: no one to name.
    assert updated.pgh_context_id is None

    (change, _) = history_of(claim)
    assert (change.kind, change.who, change.via) == ("changed", None, "")
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("text", "The ceasefire talks begin immediately.", "The talks begin next week.")
    ]


def test_a_raw_sql_update_of_a_claim_saved_before_tracking_still_records_its_old_value():
    """A row with no earlier event (written before the history began, or with the triggers off) still
    gets its old values recorded: they come from the update itself, not from a previous event."""
    claim = make_claim(text="Before.")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE claims_claimauditevent")  # as if the claim had been saved before tracking
        cursor.execute("UPDATE claims_claim SET text = 'After.' WHERE id = %s", [claim.pk])
    (event,) = events_of(claim)
    assert event.pgh_changes == {"text": ["Before.", "After."]}


def test_a_queryset_bulk_update_leaves_one_event_per_row_with_old_and_new_values():
    claims = [make_claim(quote="") for _ in range(3)]
    # A quote needs its fidelity (constraint claims_claim_fidelity_with_quote); a paraphrase is not checked.
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(
        quote="Exactly as said.", fidelity="paraphrase"
    )
    for claim in claims:
        assert events_of(claim)[-1].pgh_changes == {
            "quote": ["", "Exactly as said."],
            "fidelity": ["", "paraphrase"],
        }
        assert history_of(claim)[0].fields[0] == ("quote", "—", "Exactly as said.")


def test_a_delete_leaves_an_event_with_the_old_values():
    speaker = make_speaker(name="Karoline Leavitt", role="Press secretary")
    pk = speaker.pk
    speaker.delete()
    speaker.pk = pk
    deleted = events_of(speaker)[-1]
    assert deleted.pgh_label == "delete"
    assert deleted.pgh_changes["name"] == ["Karoline Leavitt", None]
    assert deleted.pgh_changes["role"] == ["Press secretary", None]
    change = history_of(speaker)[0]
    assert change.kind == "deleted"
    assert ("name", "Karoline Leavitt", "—") in change.fields


def test_a_verdict_recorded_by_a_user_through_the_services_names_the_user(statuses, settings):
    # A publisher of their own verdict: review is off here (a newsroom of one), the subject is the record.
    settings.REVIEW_REQUIRED = False
    editor = make_user(first_name="Ada", last_name="Editor", reviewer=True)
    claim = make_claim()
    source = make_source()
    verdict = record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="No talks were scheduled.",
        evidence=[EvidenceItem(source=source, note="The ministry's statement.")],
        by=editor,
    )

    # Everything the service wrote is recorded as the editor's: verdict, evidence, status change, claim.
    for obj in [verdict, verdict.evidence.get(), StatusChange.objects.get(verdict=verdict)]:
        event = events_of(obj)[0]
        assert event.pgh_label == "insert"
        assert context_of(event) == {"user": editor.pk, "username": editor.username}
    verdict_created = events_of(verdict)[0]
    assert verdict_created.pgh_changes["summary"] == [None, "No talks were scheduled."]
    # The verdict is saved as a draft and then published: both writes are there.
    assert events_of(verdict)[-1].pgh_changes.keys() == {"published_at"}

    status_set = history_of(claim)[0]
    assert (status_set.kind, status_set.who, status_set.via) == ("changed", "Ada Editor", "")
    assert ("status", "—", "False (accuracy)") in status_set.fields


def test_a_management_command_names_itself_in_the_history():
    call_command("load_default_data", stdout=io.StringIO())

    loaded = LoadedDataSet.objects.get(name="statuses")
    (event,) = events_of(loaded)
    assert context_of(event) == {"command": "load_default_data"}
    claim = Claim.objects.published().earliest("id")
    changes = history_of(claim)
    assert [c.kind for c in changes] == ["changed", "created"]
    assert {c.via for c in changes} == {"command load_default_data"}
    # The claim's status, set by the seed's verdict: from none to the verdict's.
    assert ("status", "—", str(claim.status)) in changes[0].fields


def test_admin_writes_record_the_user_the_url_and_the_method(editor_app, editor):
    # Insert: the add page.
    form = editor_app.get(reverse("admin:claims_speaker_add")).forms["speaker_form"]
    form["name"], form["slug"], form["role"] = "Volodymyr Zelensky", "volodymyr-zelensky", "President"
    assert form.submit("_save").status_code == 302
    speaker = Speaker.objects.get(slug="volodymyr-zelensky")
    add_url = reverse("admin:claims_speaker_add")
    (created,) = events_of(speaker)
    assert context_of(created) == {
        "user": editor.pk,
        "username": editor.username,
        "url": add_url,
        "method": "POST",
    }

    # Update: the change page.
    change_url = reverse("admin:claims_speaker_change", args=[speaker.pk])
    form = editor_app.get(change_url).forms["speaker_form"]
    form["role"] = "President of Ukraine"
    assert form.submit("_save").status_code == 302
    updated = events_of(speaker)[-1]
    assert updated.pgh_changes["role"] == ["President", "President of Ukraine"]
    assert context_of(updated)["url"] == change_url

    newest = history_of(speaker)[0]
    assert (newest.kind, newest.who, newest.via) == ("changed", "Ada Editor", f"POST {change_url}")
    assert ("role", "President", "President of Ukraine") in newest.fields


def test_an_admin_delete_records_the_user_and_the_old_values(editor_app, editor):
    claim = make_claim()
    draft = record_verdict(claim=claim, status=get_status("false"), summary="Draft.", publish=False)
    evidence = Evidence.objects.create(verdict=draft, source=make_source(), note="Shows it.")
    delete_url = reverse("admin:claims_evidence_delete", args=[evidence.pk])

    response = editor_app.get(delete_url).forms[1].submit()

    assert response.status_code == 302
    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    deleted = events_of(evidence)[-1]
    assert deleted.pgh_label == "delete"
    assert deleted.pgh_changes["note"] == ["Shows it.", None]
    assert context_of(deleted)["url"] == delete_url
    assert context_of(deleted)["user"] == editor.pk


# The history is append-only ------------------------------------------------------------------------------


@pytest.fixture
def default_data():
    """The default data: at least one row of every tracked model, hence an event in every event table."""
    call_command("load_default_data", stdout=io.StringIO())


@pytest.mark.parametrize("model", TRACKED, ids=lambda m: m.__name__)
def test_every_event_table_refuses_update_and_delete(default_data, model):
    table = model.pgh_event_model._meta.db_table
    assert model.pgh_event_model.objects.exists()
    for statement in (f"UPDATE {table} SET pgh_label = 'rewritten'", f"DELETE FROM {table}"):  # noqa: S608
        refused = pytest.raises(DatabaseError, match=f"Cannot update or delete rows from {table} table")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert not model.pgh_event_model.objects.filter(pgh_label="rewritten").exists()


def test_an_event_table_can_still_be_truncated_as_the_test_flushes_do(default_data):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE claims_claimauditevent")
        assert not Claim.pgh_event_model.objects.exists()
        transaction.set_rollback(True)
    assert Claim.pgh_event_model.objects.exists()


def test_who_made_a_write_cannot_be_rewritten_or_deleted(editor_app, editor):
    speaker = make_speaker()
    form = editor_app.get(reverse("admin:claims_speaker_change", args=[speaker.pk])).forms["speaker_form"]
    form["role"] = "Minister"
    form.submit("_save")
    context = events_of(speaker)[-1].pgh_context
    assert context.metadata["user"] == editor.pk

    with pytest.raises(IntegrityError, match="only grow"), transaction.atomic():
        Context.objects.filter(pk=context.pk).update(metadata={**context.metadata, "user": 1})
    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic():
        Context.objects.filter(pk=context.pk).delete()
    # Adding to it is what pghistory itself does as nested contexts add keys: allowed.
    Context.objects.filter(pk=context.pk).update(metadata={**context.metadata, "note": "added"})
    assert Context.objects.get(pk=context.pk).metadata["user"] == editor.pk


def test_the_database_still_refuses_a_direct_write_of_a_claims_status_and_records_nothing(statuses):
    """Migration 0007's rules hold beside the history's triggers: a refused write leaves no event."""
    claim = make_rated_claim(status=get_status("false"))
    before = len(events_of(claim))
    with pytest.raises(IntegrityError, match=r"only claims\.services"), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status=get_status("true"))
    assert len(events_of(claim)) == before


# Reading the history -------------------------------------------------------------------------------------


def test_history_is_newest_first_and_events_after_returns_only_later_writes():
    claim = make_claim(text="One.")
    cursor_id = latest_event_id(claim)
    for text in ("Two.", "Three."):
        claim.text = text
        claim.save()

    assert [c.kind for c in history_of(claim)] == ["changed", "changed", "created"]
    later = events_after(claim, cursor_id)
    assert [[(f.field, f.old, f.new) for f in c.fields if f.field == "text"] for c in later] == [
        [("text", "Two.", "Three.")],
        [("text", "One.", "Two.")],
    ]
    assert events_after(claim, later[0].id) == []
    assert [c.id for c in events_after(claim, history_of(claim)[-1].when)] == []  # one transaction's time


@pytest.mark.parametrize("events", [1, 10])
def test_reading_a_history_costs_the_same_queries_for_1_and_10_events(events, django_assert_num_queries):
    editor = make_user(first_name="Ada", last_name="Editor")
    with acting_as(editor):
        claim = make_claim()
        for n in range(events - 1):
            claim.speaker = make_speaker()
            claim.text = f"Version {n}."
            claim.save()
    # The events with their contexts, the users, the speakers and the sources they name.
    with django_assert_num_queries(4):
        changes = history_of(claim)
    assert len(changes) == events
    assert {change.who for change in changes} == {"Ada Editor"}
    # Foreign keys by the related object's name: the newest write set the claim's current speaker, from
    # nobody (its creation) or from the one it had before.
    (speaker,) = [f for f in changes[0].fields if f.field == "speaker"]
    assert speaker.new == claim.speaker.name
    assert (speaker.old == "—") == (events == 1)
    assert re.fullmatch(r"—|Speaker \d+", speaker.old) and speaker.old != speaker.new


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_restored_backup_keeps_the_history_and_goes_on_recording(request, tmp_path):
    scratch = request.getfixturevalue("scratch_database")  # the fixture of tests/test_backups.py
    claim = make_claim(text="Before the backup.")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_claim SET text = 'Changed before it.' WHERE id = %s", [claim.pk])
    path, _ = backup_database(connection.settings_dict, tmp_path)

    restore_database({**connection.settings_dict, "NAME": scratch}, path)

    latest = "SELECT pgh_label, pgh_changes FROM claims_claimauditevent WHERE pgh_obj_id = %s ORDER BY pgh_id"
    with psycopg.connect(_conninfo(scratch)) as conn:
        labels = [label for label, _ in conn.execute(latest, [claim.pk]).fetchall()]
        assert labels == ["insert", "update"]
        # The triggers came back with the tables: a write is recorded, and the history refuses rewriting.
        conn.execute("UPDATE claims_claim SET text = 'After the restore.' WHERE id = %s", [claim.pk])
        assert conn.execute(latest, [claim.pk]).fetchall()[-1] == (
            "update",
            {"text": ["Changed before it.", "After the restore."]},
        )
        with pytest.raises(psycopg.errors.RaiseException, match="Cannot update or delete rows"):
            conn.execute("DELETE FROM claims_claimauditevent")


# The admin's History page --------------------------------------------------------------------------------


def history_url(obj) -> str:
    return reverse(f"admin:claims_{obj._meta.model_name}_history", args=[obj.pk])


def test_the_history_page_shows_field_old_new_who_and_when_newest_first(editor_app, editor):
    claim = make_claim(text="The talks begin <b>immediately</b>.")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_claim SET quote = 'Next week, he said.', fidelity = 'paraphrase' WHERE id = %s",
            [claim.pk],
        )
    form = editor_app.get(reverse("admin:claims_claim_change", args=[claim.pk])).forms["claim_form"]
    form["text"] = "The talks begin next week."
    form.submit("_save")

    page = editor_app.get(history_url(claim))

    assert page.status_code == 200
    rows = page.html.select("#audit-history tbody tr")
    text = [" ".join(row.get_text(" ", strip=True).split()) for row in rows]
    # Newest first: the editor's write (each changed field a row), the raw SQL one, then the creation.
    assert f"Ada Editor Changed POST /admin/claims/claim/{claim.pk}/change/" in text[0]
    assert text[0].endswith("text The talks begin <b>immediately</b>. → The talks begin next week.")
    assert re.fullmatch(r"updated at \S+ \S+ UTC → \S+ \S+ UTC", text[1])  # the record-keeping time last
    raw = next(n for n, row in enumerate(text) if "no request or command recorded" in row)
    assert text[raw].endswith("unknown Changed no request or command recorded quote — → Next week, he said.")
    created = next(n for n, row in enumerate(text) if "Created" in row)
    assert 0 < raw < created
    # When: the time, in the site's time zone.
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ", text[0])
    # Escaped: the claim's markup is text on the page.
    assert "The talks begin &lt;b&gt;immediately&lt;/b&gt;." in page.text
    assert "<b>immediately</b>" not in page.text


def test_every_admin_change_page_links_to_its_audit_history(editor_app, statuses):
    claim = make_rated_claim(status=get_status("false"), evidence=[EvidenceItem(source=make_source())])
    verdict = claim.verdicts.get()
    objects = [claim, claim.speaker, claim.source, get_status("false"), verdict, verdict.evidence.get()]
    objects.append(StatusChange.objects.get(verdict=verdict))
    for obj in objects:
        page = editor_app.get(history_url(obj))
        assert page.status_code == 200, obj
        assert page.html.select("#audit-history tbody tr"), obj
        assert "Created" in page.text


def test_the_history_page_needs_the_permission_to_view_the_object(django_app, statuses):
    claim = make_claim()
    nobody = make_user(is_staff=True)
    django_app.set_user(nobody)
    assert django_app.get(history_url(claim), expect_errors=True).status_code == 403
    nobody.user_permissions.add(Permission.objects.get(codename="view_claim"))
    assert django_app.get(history_url(claim)).status_code == 200


@pytest.mark.parametrize("events", [1, 10])
def test_the_history_page_costs_the_same_queries_for_1_and_10_events(
    editor_app, editor, client, events, django_assert_num_queries
):
    claim = make_claim()
    for n in range(events - 1):
        editor_app.get(reverse("admin:claims_claim_change", args=[claim.pk]))
        with connection.cursor() as cursor:
            cursor.execute("UPDATE claims_claim SET text = %s WHERE id = %s", [f"Version {n}", claim.pk])
    client.force_login(editor)
    # session, user, the claim, permissions (2), the events, the speakers and the sources they name.
    with django_assert_num_queries(8):
        response = client.get(history_url(claim))
    assert response.status_code == 200
    assert html.unescape(response.content.decode()).count("audit-") >= events


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
)
def test_an_editor_saves_a_claim_and_reads_the_change_on_its_history_page_in_a_browser(live_server, tmp_path):
    """Over real HTTP, each request its own committed transaction: the editor edits a claim, presses
    Save, then History on the claim's page, and reads who changed what, on a laptop's screen."""
    claim = make_claim(text="The ceasefire talks begin immediately.")
    with editor_page(live_server) as page:
        page.goto(live_server.url + reverse("admin:claims_claim_change", args=[claim.pk]))
        page.get_by_label("Text").fill("The ceasefire talks begin next week.")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(f"{live_server.url}{reverse('admin:claims_claim_changelist')}")
        page.goto(live_server.url + reverse("admin:claims_claim_change", args=[claim.pk]))
        page.get_by_role("link", name="History").click()

        table = page.locator("#audit-history")
        expect(table).to_be_visible()
        newest = table.locator("tbody tr").first
        expect(newest).to_contain_text("ada")
        expect(newest).to_contain_text(f"POST /admin/claims/claim/{claim.pk}/change/")
        expect(table).to_contain_text(
            "text The ceasefire talks begin immediately. → The ceasefire talks begin next week."
        )
        expect(table.locator("tr.audit-created").first).to_contain_text("Created")
        width = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], "the history page scrolls sideways on a laptop's screen"
        page.screenshot(path=tmp_path / "history.png", full_page=True)
