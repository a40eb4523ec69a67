"""Webhook endpoints through the API (/api/v1/webhooks/, claims.api.views.WebhookEndpointViewSet): a key with
the manage_webhooks scope registers, reads, edits, rotates and deletes its own endpoints, and no other key's;
the secret is shown once; deliveries to them verify with it; a revoked key's endpoints are sent nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from claims import webhooks
from claims.audit import history_of
from claims.models import (
    ClientKey,
    DeliveryState,
    EventType,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import make_claim, make_rated_claim, make_speaker, make_user
from tests.test_api_errors import problem_body
from tests.test_api_keys import make_key
from tests.test_webhooks import delivery_jobs, published_event, receiver, run_job  # noqa: F401 (a fixture)

API = "/api/v1/webhooks/"
PERMISSIONS = ("view", "add", "change", "delete")


def webhook_manager(*actions: str, **fields):
    """A staff user given the webhook endpoint permissions of `actions` (all four by default), as an
    administrator gives them by hand (no group has them)."""
    user = make_user(is_staff=True, **fields)
    codenames = [f"{action}_webhookendpoint" for action in actions or PERMISSIONS]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def webhook_key(user=None, scopes=(Scope.MANAGE_WEBHOOKS,)) -> tuple[ClientKey, str]:
    return make_key(user=user or webhook_manager(), scopes=scopes, name="Newsroom bot")


def call(client, method: str, url: str, key: str | None = None, body=None, **extra):
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    if body is not None:
        extra.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **extra)


def register(client, key: str, **fields):
    body = {"url": "https://hooks.example/in", **fields}
    response = call(client, "post", API, key, body)
    assert response.status_code == 201, response.content
    return response


@pytest.fixture(autouse=True)
def public_addresses_only(settings):
    """Production's rule (the receiver fixture lifts it for its 127.0.0.1 server)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


# --- registering: the secret shown once -------------------------------------------------------------------


@pytest.mark.django_db
def test_registering_answers_the_secret_once_and_records_the_keys_user(client):
    key, secret = webhook_key()
    speaker = make_speaker()

    response = register(
        client,
        secret,
        description="Newsroom bot",
        speaker=speaker.slug,
        event_types=["claim.overdue", "claim.corrected"],
    )

    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/webhooks/{endpoint.pk}/"
    assert "no-store" in response["Cache-Control"]
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["speaker"] == speaker.slug and body["claim"] is None
    assert body["event_types"] == ["claim.corrected", "claim.overdue"]
    assert (body["is_active"], body["disabled_reason"], body["previous_secret_expires_at"]) == (
        True,
        "",
        None,
    )
    assert (endpoint.key, endpoint.created_by) == (key, key.user)
    # Never again: not in the list, not in the endpoint's own answer, not in the audit history.
    listed = call(client, "get", API, secret)
    detail = call(client, "get", f"{API}{endpoint.pk}/", secret)
    assert [row["id"] for row in listed.json()["results"]] == [endpoint.pk]
    assert detail.json()["url"] == "https://hooks.example/in"
    for answer in (listed, detail):
        assert answer.status_code == 200
        row = answer.json()["results"][0] if "results" in answer.json() else answer.json()
        assert "secret" not in row and endpoint.secret not in answer.content.decode()
        assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]
    [created] = history_of(endpoint)
    assert (created.who, created.via) == (key.user.get_username(), "POST /api/v1/webhooks/")
    event = endpoint.audit_events.select_related("pgh_context").get()
    assert event.pgh_context.metadata["api_key"] == key.prefix
    assert event.key_id == key.pk and not hasattr(event, "secret")


@pytest.mark.django_db
def test_an_endpoint_registered_through_the_api_gets_deliveries_that_verify_with_its_secret(client, receiver):  # noqa: F811
    hook = receiver()  # allows 127.0.0.1
    _, key = webhook_key()
    secret = register(client, key, url=hook.url).json()["secret"]

    event = published_event()
    (job,) = delivery_jobs()
    assert run_job(job) == "delivered"

    ((headers, body),) = hook.requests
    assert Webhook(secret).verify(body, headers) == {
        "id": event.pk,
        "type": "claim.status_changed",
        "timestamp": event.created_at.isoformat(),
        "data": event.payload,
    }


@pytest.mark.django_db
def test_rotating_through_the_api_shows_the_new_secret_once_and_both_sign_for_a_day(client, receiver):  # noqa: F811
    hook = receiver()
    _, key = webhook_key()
    created = register(client, key, url=hook.url).json()
    old = created["secret"]

    response = call(client, "post", f"{API}{created['id']}/rotate/", key)

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    rotated = response.json()
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and old not in response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)
    expires = endpoint.previous_secret_expires_at
    assert abs(expires - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    assert datetime.fromisoformat(rotated["previous_secret_expires_at"]) == expires
    assert new not in call(client, "get", f"{API}{endpoint.pk}/", key).content.decode()

    published_event()
    run_job(delivery_jobs()[0])

    ((headers, body),) = hook.requests
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers)["type"] == "claim.status_changed"
    assert Webhook(new).verify(body, headers)["type"] == "claim.status_changed"
    [rotation, _] = history_of(endpoint)
    assert rotation.who == endpoint.key.user.get_username()
    assert rotation.via == f"POST /api/v1/webhooks/{endpoint.pk}/rotate/"


# --- each key its own endpoints ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_sees_and_manages_only_the_endpoints_it_registered(client):
    user = webhook_manager()
    _, mine = webhook_key(user)
    _, another = webhook_key(user)  # the same user's other key: its endpoints are apart all the same
    ours = register(client, mine).json()["id"]
    theirs = register(client, another, url="https://other.example/in").json()["id"]
    admins = WebhookEndpoint.objects.create(url="https://admin.example/in").pk

    assert [row["id"] for row in call(client, "get", API, mine).json()["results"]] == [ours]
    assert [row["id"] for row in call(client, "get", API, another).json()["results"]] == [theirs]
    for pk in (theirs, admins):
        url = f"{API}{pk}/"
        for response in (
            call(client, "get", url, mine),
            call(client, "patch", url, mine, {"description": "Taken over"}),
            call(client, "post", f"{url}rotate/", mine),
            call(client, "delete", url, mine),
        ):
            assert problem_body(response, 404)["detail"] == "Nothing is published at this URL."
    untouched = WebhookEndpoint.objects.exclude(pk=ours).order_by("pk")
    assert [(e.description, e.previous_secret) for e in untouched] == [("", ""), ("", "")]


@pytest.mark.django_db
def test_deleting_a_key_deletes_its_endpoints_and_revoking_it_stops_their_deliveries(client, receiver):  # noqa: F811
    hook = receiver()
    key, secret = webhook_key()
    register(client, secret, url=hook.url)
    admins = WebhookEndpoint.objects.create(url=hook.url)
    published_event()
    pending = list(WebhookDelivery.objects.filter(endpoint__key=key))

    ClientKey.objects.filter(pk=key.pk).update(revoked=True)
    published_event()

    # The next event goes to the admin's endpoint only; the delivery made before the revocation is skipped.
    assert WebhookDelivery.objects.filter(endpoint__key=key).count() == 1
    assert WebhookDelivery.objects.filter(endpoint=admins).count() == 2
    [job] = [job for job in delivery_jobs() if job.args["delivery_id"] == pending[0].pk]
    assert run_job(job) == "skipped"
    assert WebhookDelivery.objects.get(pk=pending[0].pk).state == DeliveryState.SKIPPED
    assert hook.requests == []
    assert call(client, "get", API, secret).status_code == 401

    key.delete()
    assert list(WebhookEndpoint.objects.all()) == [admins]


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["expired", "inactive user"])
def test_an_expired_keys_or_inactive_users_endpoints_are_sent_nothing(client, state):
    key, secret = webhook_key()
    register(client, secret)
    if state == "expired":
        ClientKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() - timedelta(minutes=1))
    else:
        type(key.user).objects.filter(pk=key.user_id).update(is_active=False)

    published_event()

    assert not WebhookDelivery.objects.exists()


# --- who may -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_key_every_operation_is_a_401_and_with_a_session_a_403(client):
    _, key = webhook_key()
    pk = register(client, key).json()["id"]
    operations = [
        ("get", API, None),
        ("post", API, {"url": "https://hooks.example/in"}),
        ("get", f"{API}{pk}/", None),
        ("patch", f"{API}{pk}/", {"description": "x"}),
        ("delete", f"{API}{pk}/", None),
        ("post", f"{API}{pk}/rotate/", None),
    ]

    for method, url, body in operations:
        response = call(client, method, url, body=body)
        assert problem_body(response, 401)["detail"] == "Authentication credentials were not provided."
        assert response["WWW-Authenticate"] == "Api-Key"
    client.force_login(make_user(is_staff=True, is_superuser=True))
    for method, url, body in operations:
        detail = problem_body(call(client, method, url, body=body), 403)["detail"]
        assert "manage_webhooks scope" in detail and "Signing in to the site does not show them" in detail
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookEndpoint.objects.get().description == ""


@pytest.mark.django_db
def test_a_key_without_the_scope_is_refused(client):
    _, key = webhook_key(scopes=[Scope.WRITE_CLAIMS])

    for response in (
        call(client, "get", API, key),
        call(client, "post", API, key, {"url": "https://a.example/"}),
    ):
        assert (
            problem_body(response, 403)["detail"] == "This API key does not have the scope manage_webhooks."
        )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_each_operation_takes_its_own_permission_of_the_keys_user(client):
    _, full = webhook_key()
    pk = register(client, full).json()["id"]
    # An editor has none of them (registering an outside address is an administrator's decision).
    _, editors = webhook_key(make_user(editor=True))
    _, viewer = webhook_key(webhook_manager("view"))

    refused = problem_body(call(client, "get", API, editors), 403)["detail"]
    assert "does not have the permission claims.view_webhookendpoint" in refused
    assert call(client, "get", API, viewer).status_code == 200
    for method, url, body, permission in [
        ("post", API, {"url": "https://hooks.example/b"}, "add"),
        ("patch", f"{API}{pk}/", {"description": "x"}, "change"),
        ("post", f"{API}{pk}/rotate/", None, "change"),
        ("delete", f"{API}{pk}/", None, "delete"),
    ]:
        detail = problem_body(call(client, method, url, viewer, body), 403)["detail"]
        assert f"does not have the permission claims.{permission}_webhookendpoint" in detail
    assert WebhookEndpoint.objects.count() == 1


# --- editing and deleting ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_writes_the_fields_sent_and_enabling_again_clears_the_reason(client):
    key, secret = webhook_key()
    pk = register(client, secret, description="Bot").json()["id"]
    endpoint = WebhookEndpoint.objects.get()
    fields = webhooks.disable(endpoint, "410 Gone from https://hooks.example/in.")
    endpoint.failing_since = timezone.now() - timedelta(days=1)
    endpoint.save(update_fields=[*fields, "failing_since"])
    claim = make_rated_claim()
    disabled = call(client, "get", f"{API}{pk}/", secret).json()
    assert (disabled["is_active"], disabled["disabled_reason"]) == (
        False,
        "410 Gone from https://hooks.example/in.",
    )
    # Meanwhile the worker records a success: the edit does not put back the state it read.
    success = timezone.now()
    WebhookEndpoint.objects.filter(pk=pk).update(last_success_at=success)

    response = call(
        client,
        "patch",
        f"{API}{pk}/",
        secret,
        {
            "is_active": True,
            "claim": claim.pk,
            "event_types": ["claim.corrected"],
            "url": "https://new.example/",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["is_active"], body["disabled_reason"], body["disabled_at"]) == (True, "", None)
    assert (body["claim"], body["event_types"], body["url"]) == (
        claim.pk,
        ["claim.corrected"],
        "https://new.example/",
    )
    assert body["description"] == "Bot" and "secret" not in body
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)
    assert endpoint.last_success_at == success
    [edit, *_] = history_of(endpoint)
    assert edit.who == key.user.get_username() and edit.via == f"PATCH /api/v1/webhooks/{pk}/"
    # Switched off by its owner: no reason of factcheck's, and nothing sent.
    off = call(client, "patch", f"{API}{pk}/", secret, {"is_active": False}).json()
    assert (off["is_active"], off["disabled_reason"]) == (False, "")
    published_event()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_deleting_an_endpoint_takes_its_deliveries_and_their_jobs_send_nothing(client):
    key, secret = webhook_key()
    pk = register(client, secret).json()["id"]
    published_event()
    (job,) = delivery_jobs()

    response = call(client, "delete", f"{API}{pk}/", secret)

    assert response.status_code == 204 and response.content == b""
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert run_job(job) == "stale"
    assert call(client, "get", f"{API}{pk}/", secret).status_code == 404
    events = apps.get_model("claims", "WebhookEndpointAuditEvent").objects.select_related("pgh_context")
    deleted = events.get(pgh_obj_id=pk, pgh_label="delete")
    assert deleted.pgh_context.metadata["api_key"] == key.prefix


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deleting_an_endpoint_while_the_worker_records_its_delivery_waits_instead_of_deadlocking():
    """On two connections: the worker's _record holds a delivery and then takes its endpoint and writes the
    attempt; a DELETE arriving in between waits for it (delete_endpoint locks in the same order) and then
    deletes, where locking the endpoint first would deadlock and one side would fail."""
    # The event first, so no job is deferred: the queue's table is not flushed after a transactional test.
    event = published_event()
    _, secret = webhook_key()
    pk = register(Client(), secret).json()["id"]
    delivery = WebhookDelivery.objects.create(endpoint_id=pk, event=event)
    attempt = WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=timezone.now())
    holds_the_delivery, delete_sent = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def record() -> None:  # claims.webhooks._record's locks and writes, in its order
        try:
            with transaction.atomic():
                WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
                holds_the_delivery.set()
                delete_sent.wait(10)
                time.sleep(0.5)  # the DELETE reaches its first lock meanwhile
                WebhookEndpoint.objects.select_for_update().get(pk=pk)
                WebhookAttempt.objects.filter(pk=attempt.pk).update(finished=True, status_code=200)
            outcome["worker"] = "recorded"
        except Exception as exc:
            outcome["worker"] = repr(exc)
        finally:
            connections["default"].close()

    def delete() -> None:
        try:
            delete_sent.set()
            outcome["delete"] = call(Client(), "delete", f"{API}{pk}/", secret).status_code
        except Exception as exc:
            outcome["delete"] = repr(exc)
        finally:
            connections["default"].close()

    worker = threading.Thread(target=record)
    worker.start()
    assert holds_the_delivery.wait(10)
    deleter = threading.Thread(target=delete)
    deleter.start()
    worker.join(30)
    deleter.join(30)

    assert outcome == {"worker": "recorded", "delete": 204}
    assert not WebhookEndpoint.objects.exists() and not WebhookAttempt.objects.exists()


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "url", "This field is required."),
        ({"url": "ftp://hooks.example/in"}, "url", "Use an http:// or https:// URL."),
        ({"url": "hooks.example/in"}, "url", "Enter a valid URL."),
        ({"url": "https://10.0.0.1/in"}, "url", "Refused: 10.0.0.1 is a private address."),
        (
            {"url": "https://169.254.169.254/latest"},
            "url",
            "Refused: 169.254.169.254 is a link-local address.",
        ),
        ({"url": "https://localhost/in"}, "url", "localhost is not a public host name."),
        ({"url": "https://hooks.example/" + "x" * 2000}, "url", "no more than 2000 characters"),
        ({"event_types": ["claim.deleted"]}, "event_types", '"claim.deleted" is not a valid choice.'),
        ({"event_types": "claim.corrected"}, "event_types", 'Expected a list of items but got type "str".'),
        ({"speaker": "nobody"}, "speaker", "Object with slug=nobody does not exist."),
        ({"claim": "first"}, "claim", "Incorrect type. Expected pk value, received str."),
        ({"claim": 2**70}, "claim", "does not exist."),
        ({"description": "x" * 201}, "description", "no more than 200 characters"),
        ({"is_active": "maybe"}, "is_active", "Must be a valid boolean."),
        ({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "secret", "Not a field you can set."),
        ({"disabled_reason": ""}, "disabled_reason", "Not a field you can set."),
        ({"events": ["claim.corrected"]}, "events", "Not a field you can set."),
    ],
)
def test_a_bad_registration_is_a_400_naming_the_field_and_writes_nothing(client, body, field, message):
    _, key = webhook_key()
    body = {"url": "https://hooks.example/in", **body} if field != "url" else body

    response = call(client, "post", API, key, body)

    problem = problem_body(response, 400)
    assert set(problem["errors"]) == {field}
    assert any(message in text for text in problem["errors"][field]), problem
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_unpublished_claim_and_a_bad_edit_are_refused_and_change_nothing(client):
    _, key = webhook_key()
    unpublished = make_claim()
    refused = call(client, "post", API, key, {"url": "https://hooks.example/in", "claim": unpublished.pk})
    assert "claim" in problem_body(refused, 400)["errors"]
    pk = register(client, key).json()["id"]

    for body, field in [
        ({"url": "https://127.0.0.1/in", "description": "moved"}, "url"),
        ({"event_types": ["claim.corrected", "nope"], "description": "moved"}, "event_types"),
        ({"secret": "whsec_x", "description": "moved"}, "secret"),
        (["description"], "non_field_errors"),
    ]:
        assert field in problem_body(call(client, "patch", f"{API}{pk}/", key, body), 400)["errors"]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.description, endpoint.event_types) == ("https://hooks.example/in", "", [])
    not_json = client.post(API, data="url=x", content_type="text/plain", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert problem_body(not_json, 415)
    for url in (f"{API}abc/", f"{API}0/", f"{API}{'9' * 30}/", f"{API}-1/"):
        assert problem_body(call(client, "get", url, key), 404)
    for query, parameter in (("page_size=0", "page_size"), ("cursor=x", "cursor"), ("active=1", "active")):
        assert set(problem_body(call(client, "get", f"{API}?{query}", key), 400)["errors"]) == {parameter}


@pytest.mark.django_db
def test_the_list_pages_by_cursor_in_id_order(client):
    _, key = webhook_key()
    made = [register(client, key, url=f"https://{n}.example/in").json()["id"] for n in range(5)]

    first = call(client, "get", f"{API}?page_size=2", key).json()
    second = client.get(first["next"], HTTP_AUTHORIZATION=f"Api-Key {key}").json()
    last = client.get(second["next"], HTTP_AUTHORIZATION=f"Api-Key {key}").json()

    pages = [[row["id"] for row in page["results"]] for page in (first, second, last)]
    assert pages == [made[:2], made[2:4], made[4:]]
    assert first["previous"] is None and last["next"] is None


# --- the admin ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_the_endpoints_key_read_only(client):
    key, secret = webhook_key()
    pk = register(client, secret).json()["id"]
    client.force_login(make_user(is_staff=True, is_superuser=True))

    page = client.get(f"/admin/claims/webhookendpoint/{pk}/change/")
    listing = client.get("/admin/claims/webhookendpoint/").content.decode()

    assert str(key) in page.content.decode() and str(key) in listing
    assert "key" not in page.context["adminform"].form.fields
    ClientKey.objects.filter(pk=key.pk).update(revoked=True)
    assert (
        "revoked, expired or its user inactive"
        in client.get("/admin/claims/webhookendpoint/").content.decode()
    )


# --- query counts ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_webhook_operations_cost_a_pinned_number_of_queries(client, django_assert_num_queries):
    _, key = webhook_key()
    speaker = make_speaker()
    claim = make_rated_claim()
    body = {"url": "https://hooks.example/in", "speaker": speaker.slug, "claim": claim.pk}

    # The key and its user (1), the user's permissions (2), the speaker and the claim looked up (2), then
    # the insert, in a savepoint of the test's transaction (3: a transaction of its own when served).
    with django_assert_num_queries(8):
        pk = call(client, "post", API, key, {**body, "event_types": [EventType.CORRECTED]}).json()["id"]
    # The key, the permissions, then one query for the page, the speakers joined: at any size.
    for count in (1, 30):
        while WebhookEndpoint.objects.count() < count:
            register(client, key, **body)
        with django_assert_num_queries(4):
            response = call(client, "get", f"{API}?page_size=100", key)
        assert len(response.json()["results"]) == count
    with django_assert_num_queries(4):
        assert call(client, "get", f"{API}{pk}/", key).status_code == 200
    # The key, the permissions, the endpoint locked, the body's speaker and claim, the update (3 with the
    # savepoint).
    with django_assert_num_queries(9):
        assert call(client, "patch", f"{API}{pk}/", key, body).status_code == 200
    # The key, the permissions, the endpoint locked, its secret locked and read again by rotate_secret, the
    # update (5 with the two savepoints).
    with django_assert_num_queries(10):
        assert call(client, "post", f"{API}{pk}/rotate/", key).status_code == 200
