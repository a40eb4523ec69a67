"""API keys (claims.api.keys): a key's client writes through the admin's rules and services, as the key's
user, within the key's scopes and the user's permissions, at the key's rate; everyone else reads only."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.api.keys import ClientKeyThrottle, KeyScope
from claims.audit import history_of
from claims.models import Claim, ClientKey, Scope, Source, Speaker, StatusChange, Verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker, make_user
from tests.test_api_errors import problem_body

ALL_SCOPES = [Scope.WRITE_SPEAKERS, Scope.WRITE_SOURCES, Scope.WRITE_CLAIMS, Scope.RECORD_VERDICTS]
ARTICLE = "The minister said: “We will build 300 new schools by 2030.” Critics doubted it."


def make_key(user=None, scopes=ALL_SCOPES, **fields) -> tuple[ClientKey, str]:
    """A key and its secret (shown once), for an editor unless `user` is given."""
    fields.setdefault("name", "Newsroom importer")
    return ClientKey.objects.create_key(user=user or make_user(editor=True), scopes=list(scopes), **fields)


def post(client, url: str, body: dict, key: str | None = None, **extra):
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def speaker_body(**fields) -> dict:
    return {"name": "Ada Minister", "role": "Education minister", **fields}


def source_body(**fields) -> dict:
    return {
        "title": "Interview",
        "publisher": "The Record",
        "url": "https://news.example/interview",
        **fields,
    }


def claim_body(speaker, source, **fields) -> dict:
    return {
        "text": "The minister promised 300 new schools by 2030.",
        "speaker": speaker.pk,
        "source": source.pk,
        "kind": "promise",
        "said_on": "2025-05-19",
        **fields,
    }


# --- keys: made in the admin, shown once, stored as a hash ------------------------------------------------


@pytest.mark.django_db
def test_a_key_is_stored_as_a_hash_and_never_recorded_in_the_history():
    key, secret = make_key()

    prefix, _, rest = secret.partition(".")
    assert key.prefix == prefix and len(rest) == 32
    assert secret not in key.hashed_key and key.hashed_key.startswith("sha512$$")
    assert ClientKey.objects.get_from_key(secret) == key
    # The audit event snapshots every column but the hash (and the primary key is a number, not the hash).
    event = key.audit_events.get()
    assert not hasattr(event, "hashed_key")
    assert "hashed_key" not in event.pgh_changes
    assert isinstance(key.pk, int)
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM claims_clientkeyauditevent e")
        (row,) = cursor.fetchone()
    assert key.hashed_key.split("$$")[1] not in row
    assert prefix in row


@pytest.mark.django_db
def test_the_admin_shows_a_new_key_once_and_stores_only_its_hash(django_app):
    admin = make_user(is_staff=True, is_superuser=True)
    editor = make_user(editor=True, username="importer")
    form = django_app.get("/admin/claims/clientkey/add/", user=admin).forms["clientkey_form"]
    form["name"] = "Importer"
    form["user"].force_value(str(editor.pk))
    form["scopes"] = [Scope.WRITE_CLAIMS, Scope.RECORD_VERDICTS]
    form["throttle_rate"] = "100/hour"

    page = form.submit().follow()

    key = ClientKey.objects.get()
    [shown] = [m for m in page.context["messages"] if " is: " in str(m)]
    secret = str(shown).split(" is: ")[1].split(". ")[0]
    assert secret.startswith(key.prefix + ".")
    assert ClientKey.objects.get_from_key(secret) == key
    assert key.user == editor and key.scopes == ["write_claims", "record_verdicts"]
    assert key.throttle_rate == "100/hour"
    # Shown once: the key's own page has its prefix, never the key.
    change = django_app.get(f"/admin/claims/clientkey/{key.pk}/change/", user=admin)
    assert key.prefix in change.text and secret not in change.text
    assert secret not in django_app.get("/admin/claims/clientkey/", user=admin).text


@pytest.mark.django_db
def test_the_admin_refuses_a_bad_throttle_rate_and_revokes_for_good(django_app):
    admin = make_user(is_staff=True, is_superuser=True)
    key, _ = make_key()
    form = django_app.get(f"/admin/claims/clientkey/{key.pk}/change/", user=admin).forms["clientkey_form"]
    form["throttle_rate"] = "lots"
    assert "Requests per period" in form.submit().text

    form["throttle_rate"] = ""
    form["revoked"] = True
    form.submit().follow()

    key.refresh_from_db()
    assert key.revoked
    page = django_app.get(f"/admin/claims/clientkey/{key.pk}/change/", user=admin)
    assert "revoked" not in page.forms["clientkey_form"].fields  # read-only once revoked


@pytest.mark.django_db
def test_a_keys_history_page_never_shows_the_hash_and_the_list_costs_the_same_for_1_and_10_keys(
    client, django_assert_num_queries
):
    admin = make_user(is_staff=True, is_superuser=True)
    client.force_login(admin)
    key, secret = make_key()

    history = client.get(f"/admin/claims/clientkey/{key.pk}/history/")

    assert history.status_code == 200
    assert key.prefix in history.content.decode()
    assert key.hashed_key.split("$$")[1] not in history.content.decode()
    assert secret not in history.content.decode()
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/claims/clientkey/").status_code == 200
        counts.append(len(queries))
        for _ in range(9):
            make_key()
    assert counts[0] == counts[1]
    with django_assert_num_queries(counts[0]):
        client.get("/admin/claims/clientkey/")
    # The session, its user, the count and the page of keys with their users joined: none per key.
    assert counts[0] == 4


@pytest.mark.django_db
def test_only_a_superuser_makes_a_key_for_someone_else(django_app):
    manager = make_user(is_staff=True)
    manager.user_permissions.add(*Permission.objects.filter(codename__endswith="_clientkey"))
    other = make_user(editor=True)
    form = django_app.get("/admin/claims/clientkey/add/", user=manager).forms["clientkey_form"]
    form["name"] = "Mine"
    form["user"].force_value(str(other.pk))

    assert "Select a valid choice" in form.submit().text

    form["user"].force_value(str(manager.pk))
    form.submit().follow()
    assert ClientKey.objects.get().user == manager


# --- who may write -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_clients_are_asked_for_a_key(client):
    response = post(client, "/api/v1/speakers/", speaker_body())

    assert problem_body(response, 401)["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Api-Key"
    assert not Speaker.objects.exists()


@pytest.mark.django_db
def test_a_signed_in_superuser_cannot_write_without_a_key(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))

    response = post(client, "/api/v1/speakers/", speaker_body())

    assert "takes an API key" in problem_body(response, 403)["detail"]
    assert not Speaker.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["unknown", "malformed", "revoked", "expired", "inactive user"])
def test_a_key_that_is_not_valid_is_a_401_on_reads_and_writes(client, state):
    key, secret = make_key()
    if state == "unknown":
        # The key's secret with its first character changed (to another one: a random secret may begin with x).
        body = secret.partition(".")[2]
        secret = key.prefix + "." + ("y" if body[0] == "x" else "x") + body[1:]
    elif state == "malformed":
        secret = key.prefix + ".\x00" + "x" * 5000
    elif state == "revoked":
        ClientKey.objects.filter(pk=key.pk).update(revoked=True)
    elif state == "expired":
        ClientKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() - timedelta(minutes=1))
    else:
        type(key.user).objects.filter(pk=key.user_id).update(is_active=False)

    write = post(client, "/api/v1/speakers/", speaker_body(), secret)
    read = client.get("/api/v1/claims/", HTTP_AUTHORIZATION=f"Api-Key {secret}")

    for response in (write, read):
        detail = problem_body(response, 401)["detail"]
        assert ("expired" if state == "expired" else "not valid") in detail
        assert response["WWW-Authenticate"] == "Api-Key"
    assert not Speaker.objects.exists()


WRITES = {
    Scope.WRITE_SPEAKERS: ("/api/v1/speakers/", lambda: speaker_body()),
    Scope.WRITE_SOURCES: ("/api/v1/sources/", lambda: source_body()),
    Scope.WRITE_CLAIMS: ("/api/v1/claims/", lambda: claim_body(make_speaker(), make_source())),
    Scope.RECORD_VERDICTS: (
        "/api/v1/claims/{claim}/verdicts/",
        lambda: {"status": "open", "summary": "Nothing built yet."},
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("scope", list(WRITES))
def test_each_scope_allows_exactly_its_writes(client, statuses, scope):
    claim = make_claim(kind="promise")
    _, secret = make_key(scopes=[scope])

    answers = {}
    for other, (url, body) in WRITES.items():
        answers[other] = post(client, url.format(claim=claim.pk), body(), secret)

    for other, response in answers.items():
        if other == scope:
            assert response.status_code == 201, response.content
        else:
            assert problem_body(response, 403)["detail"] == f"This API key does not have the scope {other}."


@pytest.mark.django_db
def test_a_key_can_do_no_more_than_its_user(client, statuses):
    reader = make_user(is_staff=True)  # no permission at all
    _, secret = make_key(user=reader, scopes=list(Scope))

    response = post(client, "/api/v1/speakers/", speaker_body(), secret)

    assert "does not have the permission claims.add_speaker" in problem_body(response, 403)["detail"]
    assert not Speaker.objects.exists()


@pytest.mark.django_db
def test_archiving_a_sources_text_takes_its_own_permission(client):
    user = make_user(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_source"))
    _, secret = make_key(user=user, scopes=[Scope.WRITE_SOURCES])

    refused = post(client, "/api/v1/sources/", source_body(archived_text=ARTICLE), secret)
    allowed = post(client, "/api/v1/sources/", source_body(), secret)

    assert "claims.add_sourcesnapshot" in problem_body(refused, 403)["detail"]
    assert allowed.status_code == 201
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_the_key_scope_permission_refuses_an_unknown_scope():
    with pytest.raises(ValueError, match="Unknown API key scope"):
        KeyScope("write_everything")
    assert KeyScope("manage_webhooks", "webhooks.add_webhook").perms == ("webhooks.add_webhook",)


# --- the writes, through the admin's rules and services ---------------------------------------------------


@pytest.mark.django_db
def test_creating_a_speaker_a_source_and_a_claim_answers_as_the_read_api(client, statuses):
    key, secret = make_key()

    speaker = post(client, "/api/v1/speakers/", speaker_body(), secret)
    source = post(client, "/api/v1/sources/", source_body(archived_text=ARTICLE), secret)
    claim = post(
        client,
        "/api/v1/claims/",
        claim_body(
            Speaker.objects.get(),
            Source.objects.get(),
            quote="We will build 300 new schools by 2030.",
        ),
        secret,
    )

    assert speaker.status_code == 201
    assert speaker.json()["slug"] == "ada-minister" and speaker.json()["claim_count"] == 0
    assert speaker["Location"] == "http://testserver/api/v1/speakers/ada-minister/"
    assert source.status_code == 201
    assert source.json()["archived_sha256"] and "archived_text" not in source.json()
    assert source["Location"] == f"http://testserver/api/v1/sources/{source.json()['id']}/"
    assert claim.status_code == 201, claim.content
    body = claim.json()
    assert body["quote_verified"] is True and body["fidelity"] == "verbatim"
    assert body["status"] is None and body["verdicts"] == []
    assert body["speaker"]["id"] == speaker.json()["id"]
    assert claim["Location"] == f"http://testserver/api/v1/claims/{body['id']}/"
    # Recorded as the key's user, with the key.
    [created] = history_of(Claim.objects.get())
    assert created.who == key.user.get_username()
    assert created.via == "POST /api/v1/claims/"
    event = Claim.objects.get().audit_events.select_related("pgh_context").get()
    assert event.pgh_context.metadata["api_key"] == key.prefix
    assert event.pgh_context.metadata["user"] == key.user_id


@pytest.mark.django_db
def test_a_refused_write_is_a_400_naming_the_fields_and_writes_nothing(client, statuses):
    _, secret = make_key()
    source = make_source(archived_text=ARTICLE)
    speaker = make_speaker()
    make_claim(speaker=speaker, source=source, quote="We will build 300 new schools by 2030.")
    claims_before = Claim.objects.count()

    not_found = post(
        client, "/api/v1/claims/", claim_body(speaker, source, quote="We will build 500 schools."), secret
    )
    duplicate = post(
        client,
        "/api/v1/claims/",
        claim_body(speaker, source, text="Another wording.", quote="We will build 300 new schools by 2030."),
        secret,
    )
    future = post(client, "/api/v1/claims/", claim_body(speaker, source, said_on="2999-01-01"), secret)
    wrong_types = post(client, "/api/v1/claims/", {"text": 5, "speaker": "ada", "kind": "rumour"}, secret)
    bad_text = post(client, "/api/v1/sources/", source_body(archived_text="   "), secret)

    assert "Not found in the archived text" in problem_body(not_found, 400)["errors"]["quote"][0]
    [message] = problem_body(duplicate, 400)["errors"]["quote"]
    assert "already a claim" in message and "/admin/claims/claim/" in message and "<a" not in message
    assert "said_on" in problem_body(future, 400)["errors"]
    assert {"speaker", "source", "kind", "said_on"} <= set(problem_body(wrong_types, 400)["errors"])
    assert set(problem_body(bad_text, 400)["errors"]) == {"archived_text"}
    # Nothing written, not even the source whose text was refused (one transaction).
    assert Claim.objects.count() == claims_before
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_a_claim_much_like_another_needs_different_claim(client, statuses):
    _, secret = make_key()
    existing = make_claim(text="The minister promised 300 new schools by 2030.", kind="promise")
    body = claim_body(existing.speaker, make_source())

    asked = post(client, "/api/v1/claims/", body, secret)
    confirmed = post(client, "/api/v1/claims/", {**body, "different_claim": True}, secret)

    assert "different_claim" in problem_body(asked, 400)["errors"]
    assert confirmed.status_code == 201


@pytest.mark.django_db
def test_a_draft_verdict_is_recorded_as_the_keys_user_and_changes_nothing_public(client, statuses):
    key, secret = make_key()
    claim = make_claim(kind="promise")
    cited = make_source()

    response = post(
        client,
        f"/api/v1/claims/{claim.pk}/verdicts/",
        {
            "status": "open",
            "summary": "Nothing built yet.",
            "evidence": [{"source": cited.pk, "note": "Budget"}],
        },
        secret,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["published_at"] is None and body["status"]["slug"] == "open"
    assert body["evidence"] == [
        {
            "source": {
                "id": cited.pk,
                "title": cited.title,
                "publisher": cited.publisher,
                "url": cited.url,
                "published_on": "2025-05-19",
            },
            "note": "Budget",
        }
    ]
    verdict = Verdict.objects.get()
    assert verdict.created_by == key.user
    assert not StatusChange.objects.exists()
    assert client.get(f"/api/v1/claims/{claim.pk}/").status_code == 404


@pytest.mark.django_db
def test_verdict_errors_are_400s_and_an_unknown_claim_a_404(client, statuses):
    _, secret = make_key()
    claim = make_claim(kind="promise")

    wrong_scale = post(
        client, f"/api/v1/claims/{claim.pk}/verdicts/", {"status": "false", "summary": "x"}, secret
    )
    no_source = post(
        client,
        f"/api/v1/claims/{claim.pk}/verdicts/",
        {"status": "open", "summary": "x", "evidence": [{"source": 999999}]},
        secret,
    )
    empty = post(client, f"/api/v1/claims/{claim.pk}/verdicts/", {"status": "open", "summary": " "}, secret)
    unknown = post(client, "/api/v1/claims/999999/verdicts/", {"status": "open", "summary": "x"}, secret)
    not_an_id = post(client, "/api/v1/claims/1e3/verdicts/", {"status": "open", "summary": "x"}, secret)

    assert "status" in problem_body(wrong_scale, 400)["errors"]
    assert problem_body(no_source, 400)["errors"] == {"evidence": ["No source has the id 999999."]}
    assert "summary" in problem_body(empty, 400)["errors"]
    problem_body(unknown, 404)
    problem_body(not_an_id, 404)
    assert not Verdict.objects.exists()


@pytest.mark.django_db
def test_with_review_required_a_key_cannot_publish_its_users_own_verdict(client, statuses):
    _, secret = make_key(
        user=make_user(reviewer=True), scopes=[Scope.RECORD_VERDICTS, Scope.PUBLISH_VERDICTS]
    )
    claim = make_claim(kind="promise")

    response = post(
        client,
        f"/api/v1/claims/{claim.pk}/verdicts/",
        {"status": "open", "summary": "x", "published": True},
        secret,
    )

    assert "someone other than its author" in problem_body(response, 403)["detail"]
    assert not Verdict.objects.exists()


@pytest.mark.django_db
def test_publishing_takes_the_scope_and_the_users_permission(client, statuses, settings):
    settings.REVIEW_REQUIRED = False
    claim = make_claim(kind="promise")
    _, no_scope = make_key(user=make_user(reviewer=True), scopes=[Scope.RECORD_VERDICTS])
    _, editor = make_key(user=make_user(editor=True), scopes=[Scope.RECORD_VERDICTS, Scope.PUBLISH_VERDICTS])
    body = {"status": "open", "summary": "x", "published": True}

    assert (
        "scope publish_verdicts"
        in problem_body(post(client, f"/api/v1/claims/{claim.pk}/verdicts/", body, no_scope), 403)["detail"]
    )
    assert (
        "claims.publish_verdict"
        in problem_body(post(client, f"/api/v1/claims/{claim.pk}/verdicts/", body, editor), 403)["detail"]
    )
    assert not Verdict.objects.exists()


@pytest.mark.django_db
def test_a_published_verdict_changes_the_status_and_enters_the_feed_as_the_admins_would(
    client, statuses, settings
):
    settings.REVIEW_REQUIRED = False
    key, secret = make_key(
        user=make_user(reviewer=True), scopes=[Scope.RECORD_VERDICTS, Scope.PUBLISH_VERDICTS]
    )
    claim = make_rated_claim(kind="fact", status=get_status("true"))

    refused = post(
        client,
        f"/api/v1/claims/{claim.pk}/verdicts/",
        {"status": "false", "summary": "Wrong.", "published": True},
        secret,
    )
    response = post(
        client,
        f"/api/v1/claims/{claim.pk}/verdicts/",
        {"status": "false", "summary": "Wrong.", "published": True, "correction_note": "New figures."},
        secret,
    )

    assert "correction_note" in problem_body(refused, 400)["errors"]
    assert response.status_code == 201, response.content
    assert response.json()["published_at"] is not None
    claim.refresh_from_db()
    assert claim.status == get_status("false")
    change = StatusChange.objects.order_by("-id").first()
    assert change.published_by == key.user and change.to_status == get_status("false")
    feed = client.get("/api/v1/changes/").json()["results"]
    assert [entry["type"] for entry in feed[-2:]] == ["status_change", "correction"]
    assert feed[-1]["correction"]["note"] == "New figures."


@pytest.mark.django_db
def test_a_reviewers_key_publishes_an_editors_draft_and_never_its_own(client, statuses):
    editor_key, editor = make_key(user=make_user(editor=True))
    reviewer_key, reviewer = make_key(
        user=make_user(reviewer=True), scopes=[Scope.RECORD_VERDICTS, Scope.PUBLISH_VERDICTS]
    )
    claim = make_claim(kind="promise")
    draft = post(client, f"/api/v1/claims/{claim.pk}/verdicts/", {"status": "open", "summary": "x"}, editor)
    own = post(client, f"/api/v1/claims/{claim.pk}/verdicts/", {"status": "open", "summary": "y"}, reviewer)
    publish = "/api/v1/claims/{claim}/verdicts/{verdict}/publish/"

    by_editor = post(client, publish.format(claim=claim.pk, verdict=draft.json()["id"]), {}, editor)
    by_author = post(client, publish.format(claim=claim.pk, verdict=own.json()["id"]), {}, reviewer)
    wrong_claim = post(
        client, publish.format(claim=make_claim().pk, verdict=draft.json()["id"]), {}, reviewer
    )
    published = post(client, publish.format(claim=claim.pk, verdict=draft.json()["id"]), {}, reviewer)
    again = post(client, publish.format(claim=claim.pk, verdict=draft.json()["id"]), {}, reviewer)

    assert problem_body(by_editor, 403)["detail"] == "This API key does not have the scope publish_verdicts."
    assert "someone other than its author" in problem_body(by_author, 403)["detail"]
    problem_body(wrong_claim, 404)
    assert published.status_code == 200, published.content
    assert published.json()["published_at"] is not None
    change = StatusChange.objects.get()
    assert change.published_by == reviewer_key.user and change.verdict.created_by == editor_key.user
    assert client.get(f"/api/v1/claims/{claim.pk}/").json()["status"]["slug"] == "open"
    assert "already published" in problem_body(again, 400)["errors"]["non_field_errors"][0]


# --- editing a claim ------------------------------------------------------------------------------------------


def patch(client, url: str, body: dict, key: str):
    return client.patch(
        url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )


@pytest.mark.django_db
def test_an_edit_writes_the_fields_sent_from_the_version_read(client, statuses):
    key, secret = make_key()
    claim = make_claim(kind="promise", text="Old wording.", due_on=None)

    response = patch(
        client,
        f"/api/v1/claims/{claim.pk}/",
        {"expected_version": claim.version, "text": "New wording."},
        secret,
    )

    assert response.status_code == 200, response.content
    assert response.json()["text"] == "New wording." and response.json()["version"] == claim.version + 1
    claim.refresh_from_db()
    assert claim.text == "New wording." and claim.kind == "promise"
    [edit, _] = history_of(claim)
    assert edit.who == key.user.get_username()
    # Only what changed is written (and the time of the edit).
    assert {field.field for field in edit.fields} == {"text", "updated at"}
    assert [field.new for field in edit.fields if field.field == "text"] == ["New wording."]


@pytest.mark.django_db
def test_an_edit_from_a_stale_version_is_a_409_and_writes_nothing(client, statuses):
    _, secret = make_key()
    claim = make_claim(kind="promise", text="Old wording.")
    Claim.objects.filter(pk=claim.pk).update(text="Someone else's wording.")  # the version moves (0015)

    response = patch(
        client, f"/api/v1/claims/{claim.pk}/", {"expected_version": claim.version, "text": "Mine."}, secret
    )

    assert "Since you opened this page" in problem_body(response, 409)["detail"]
    claim.refresh_from_db()
    assert claim.text == "Someone else's wording."


@pytest.mark.django_db
def test_a_published_claims_edit_is_a_correction_with_its_note(client, statuses):
    _, secret = make_key()
    claim = make_rated_claim(kind="fact", text="Old wording.")
    url = f"/api/v1/claims/{claim.pk}/"

    refused = patch(client, url, {"expected_version": claim.version, "text": "New wording."}, secret)
    corrected = patch(
        client,
        url,
        {"expected_version": claim.version, "text": "New wording.", "correction_note": "The quote was cut."},
        secret,
    )

    assert "correction_note" in problem_body(refused, 400)["errors"]
    assert corrected.status_code == 200, corrected.content
    [correction] = corrected.json()["corrections"]
    assert correction["note"] == "The quote was cut."
    assert correction["changes"] == {"text": {"old": "Old wording.", "new": "New wording."}}
    assert client.get("/api/v1/changes/").json()["results"][-1]["type"] == "correction"


@pytest.mark.django_db
def test_editing_takes_the_users_change_permission_and_an_existing_claim(client, statuses):
    user = make_user(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_claim"))
    _, adder = make_key(user=user, scopes=[Scope.WRITE_CLAIMS])
    _, editor = make_key()
    claim = make_claim()

    refused = patch(client, f"/api/v1/claims/{claim.pk}/", {"expected_version": 1, "text": "x"}, adder)
    missing = patch(client, "/api/v1/claims/999999/", {"expected_version": 1, "text": "x"}, editor)
    no_version = patch(client, f"/api/v1/claims/{claim.pk}/", {"text": "x"}, editor)

    assert "claims.change_claim" in problem_body(refused, 403)["detail"]
    problem_body(missing, 404)
    assert set(problem_body(no_version, 400)["errors"]) == {"expected_version"}


# --- the throttle --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_key_is_throttled_at_its_own_rate(client, anon_rate, settings):
    anon_rate("1000/minute")
    settings.API_KEY_THROTTLE_RATE = "5/minute"
    _, slow = make_key(throttle_rate="2/minute")
    _, default = make_key()

    slow_answers = [client.get("/api/v1/statuses/", HTTP_AUTHORIZATION=f"Api-Key {slow}") for _ in range(3)]
    default_answers = [
        client.get("/api/v1/statuses/", HTTP_AUTHORIZATION=f"Api-Key {default}") for _ in range(6)
    ]

    assert [r.status_code for r in slow_answers] == [200, 200, 429]
    assert [r.status_code for r in default_answers] == [200] * 5 + [429]
    assert int(slow_answers[-1]["Retry-After"]) > 0
    assert problem_body(default_answers[-1], 429)["status"] == 429
    # The anonymous client is not held back by the keys' use.
    assert client.get("/api/v1/statuses/").status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_keys_burst_on_many_connections_at_once_lets_exactly_its_rate_through(anon_rate):
    """12 requests with one key at the same instant, each on its own database connection (as 12 gunicorn
    workers would be): exactly the key's 4 pass, as the anonymous throttle's storage guarantees."""
    anon_rate("1000/minute")
    key, _ = make_key(throttle_rate="4/minute")
    request = RequestFactory().get("/api/v1/statuses/")
    request.user, request.auth = key.user, key
    start = threading.Barrier(12)

    def ask() -> bool:
        try:
            throttle = ClientKeyThrottle()
            connections["default"].ensure_connection()  # connected before the start, so all ask at once
            start.wait(timeout=20)
            return throttle.allow_request(request, None)
        finally:
            connections["default"].close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: ask(), range(12)))

    assert sum(answers) == 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM factcheck_api_throttle")
        assert [row for (row,) in cursor.fetchall()] == [f"throttle_key_{key.pk}"]


# --- query counts --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_writes_cost_a_pinned_number_of_queries(client, statuses, django_assert_num_queries):
    _, secret = make_key()
    source = make_source(archived_text=ARTICLE)
    speaker = make_speaker()
    claim = make_claim(kind="promise")
    cited = [make_source() for _ in range(3)]

    # Each: the key and its user (1), the user's permissions (2), then the admin form's checks (its model
    # validation runs one query per constraint and unique field), the writes, and the answer read back.
    with django_assert_num_queries(12):
        assert post(client, "/api/v1/speakers/", speaker_body(), secret).status_code == 201
    with django_assert_num_queries(11):
        assert post(client, "/api/v1/sources/", source_body(archived_text=ARTICLE), secret).status_code == 201
    with django_assert_num_queries(36):
        response = post(
            client,
            "/api/v1/claims/",
            claim_body(speaker, source, quote="We will build 300 new schools by 2030."),
            secret,
        )
        assert response.status_code == 201
    with django_assert_num_queries(36):
        response = patch(
            client,
            f"/api/v1/claims/{claim.pk}/",
            {"expected_version": claim.version, "text": "Edited."},
            secret,
        )
        assert response.status_code == 200
    draft = Verdict.objects.create(
        claim=claim,
        status=get_status("open"),
        scale=claim.expected_scale,
        summary="x",
        created_by=make_user(),
    )
    _, reviewer = make_key(user=make_user(reviewer=True), scopes=[Scope.PUBLISH_VERDICTS])
    # Publishing: the draft, the review rule, publish_verdict's locks, feed and status writes, the public
    # event (the speaker, the status before, the insert) and its webhooks (none match), the answer.
    with django_assert_num_queries(20):
        response = post(client, f"/api/v1/claims/{claim.pk}/verdicts/{draft.pk}/publish/", {}, reviewer)
        assert response.status_code == 200
    # A verdict costs the same with one source cited as with three.
    for evidence in (cited[:1], cited):
        with django_assert_num_queries(20):
            response = post(
                client,
                f"/api/v1/claims/{claim.pk}/verdicts/",
                {"status": "open", "summary": "x", "evidence": [{"source": s.pk} for s in evidence]},
                secret,
            )
            assert response.status_code == 201
