from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings

from claims.models import Claim, StatusChange, Verdict

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_the_development_editor_can_log_in_and_is_an_editor(client, capsys):
    call_command("create_dev_editor")
    call_command("create_dev_editor")  # a second run keeps the one account
    assert "username editor, password editor" in capsys.readouterr().out
    user = User.objects.get(username="editor")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Editors"]
    assert client.login(username="editor", password="editor")


@override_settings(DEBUG=False)
def test_the_development_editor_is_never_created_with_debug_off():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("create_dev_editor")
    assert not User.objects.filter(username="editor").exists()


def test_the_benchmark_generator_refuses_a_real_database(statuses):
    with pytest.raises(CommandError, match="Refusing"):
        call_command("generate_claims", 10)
    assert Claim.objects.count() == 0


def test_the_benchmark_generator_makes_public_claims_with_their_history(statuses):
    call_command("generate_claims", 60, "--speakers", "7", "--i-know")
    assert Claim.objects.published().count() == 60
    assert Verdict.objects.published().count() == StatusChange.objects.count() == 60
    claim = Claim.objects.select_related("speaker", "status").first()
    assert claim.speaker_name == claim.speaker.name
    assert claim.verdicts.get().status == claim.status
    assert Claim.objects.search("ceasefire").exists()
