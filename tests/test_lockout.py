"""The admin's login lockout (django-axes): a username locked from one address after repeated failures, cleared
by a superuser in the admin or by the command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import make_user

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-test-password"  # tests/factories.py make_user's


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The lockout does not depend on the hasher, and the default one takes about half a second per login."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def editor():
    return make_user(editor=True, username="ada")


def log_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_to_log_in(
    client: Client, times: int, username: str = "ada", address: str = "127.0.0.1"
) -> list[int]:
    return [log_in(client, username, "wrong", address).status_code for _ in range(times)]


def test_five_failed_logins_lock_the_username_from_that_address_even_with_the_right_password(client, editor):
    assert fail_to_log_in(client, 4) == [200] * 4  # the login form again, with its error

    locked = log_in(client, "ada", "wrong")

    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "5 failed logins in a row for this username from your network." in page
    assert "refused for 15 minutes, even with the right password" in page

    with_the_right_password = log_in(client, "ada", PASSWORD)
    assert with_the_right_password.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not logged in: back to the login page


def test_a_lockout_holds_one_username_from_one_address_only(client, editor):
    other = make_user(editor=True, username="grace")
    fail_to_log_in(client, 5)
    assert log_in(client, "ada", PASSWORD).status_code == 429

    # The attacker's address cannot lock the editor out from hers, nor other editors from its own.
    assert log_in(Client(), "ada", PASSWORD, address="198.51.100.20").status_code == 302
    assert log_in(Client(), "grace", PASSWORD).status_code == 302
    other.refresh_from_db()
    assert other.last_login is not None


def test_behind_the_proxy_an_attacker_locks_out_only_its_own_address(client, editor, settings):
    """All requests come from the proxy (REMOTE_ADDR); with NUM_PROXIES=1 the client is the address it saw."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(5):
        client.post(
            LOGIN, {"username": "ada", "password": "wrong"}, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy
        )
    attacker = Client().post(
        LOGIN, {"username": "ada", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy
    )
    assert attacker.status_code == 429

    editor_at_home = Client().post(
        LOGIN, {"username": "ada", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.4", **proxy
    )
    assert editor_at_home.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "198.51.100.9"


def test_a_successful_login_forgets_earlier_failures(client, editor):
    fail_to_log_in(client, 4)
    assert log_in(client, "ada", PASSWORD).status_code == 302
    client.logout()

    assert fail_to_log_in(client, 4) == [200] * 4
    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_a_lockout_ends_after_the_cool_off(client, editor):
    fail_to_log_in(client, 5)
    assert log_in(client, "ada", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_a_superuser_sees_the_lockout_in_the_admin_and_clears_it(client, editor, django_app):
    fail_to_log_in(client, 5, address="203.0.113.5")
    assert log_in(client, "ada", PASSWORD, address="203.0.113.5").status_code == 429
    superuser = make_user(is_staff=True, is_superuser=True, username="chief")

    locked = django_app.get("/admin/axes/accessattempt/?locked_out=yes", user=superuser)
    (row,) = locked.html.select("#result_list tbody tr")
    assert row.select_one(".field-ip_address").text == "203.0.113.5"
    assert row.select_one(".field-username").text == "ada"
    assert row.select_one(".field-status").text == "Locked Out"

    form = locked.forms["changelist-form"]
    form["action"] = "delete_selected"
    form.get("_selected_action", index=0).checked = True
    confirmation = form.submit()
    assert "Are you sure" in confirmation.text
    (confirm,) = [form for form in confirmation.forms.values() if "post" in form.fields]
    done = confirm.submit().follow()
    assert "Successfully deleted 1 access attempt" in done.text
    assert not AccessAttempt.objects.exists()

    assert log_in(client, "ada", PASSWORD, address="203.0.113.5").status_code == 302


def test_the_command_clears_a_lockout(client, editor):
    fail_to_log_in(client, 5)
    call_command("axes_reset_username", "ada")
    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_editors_do_not_see_login_attempts(django_app, editor):
    assert django_app.get("/admin/axes/accessattempt/", user=editor, expect_errors=True).status_code == 403
    index = django_app.get("/admin/", user=editor)
    assert "Access attempts" not in index.text
