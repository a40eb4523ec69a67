"""The Editors group made by migration claims/0003_editors_group."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db

migration = importlib.import_module("claims.migrations.0003_editors_group")

EDITING = {
    "add_claim",
    "add_evidence",
    "add_source",
    "add_speaker",
    "add_status",
    "add_verdict",
    "change_claim",
    "change_evidence",
    "change_source",
    "change_speaker",
    "change_status",
    "change_verdict",
    "delete_evidence",
    "view_statuschange",
    "view_claim",
    "view_evidence",
    "view_source",
    "view_speaker",
    "view_status",
    "view_verdict",
    # 0017: editors read the archived texts and add captures; nobody changes or deletes one.
    "view_sourcesnapshot",
    "add_sourcesnapshot",
}

# Migration 0003 made the group when the status-change model was still called Change (0005 renames it).
EDITING_AT_0003 = (EDITING - {"view_statuschange", "view_sourcesnapshot", "add_sourcesnapshot"}) | {
    "view_change"
}


def editors_permissions() -> set[tuple[str, str]]:
    return set(
        Group.objects.get(name="Editors").permissions.values_list("content_type__app_label", "codename")
    )


def test_the_editors_group_has_exactly_the_permissions_editing_needs():
    assert editors_permissions() == {("claims", codename) for codename in EDITING}


def test_editors_manage_no_users_or_groups_and_delete_no_history():
    codenames = {codename for _, codename in editors_permissions()}
    assert not any(codename.endswith(("_user", "_group", "_permission")) for codename in codenames)
    assert (
        not {
            "delete_claim",
            "delete_verdict",
            "delete_statuschange",
            "add_statuschange",
            "change_statuschange",
        }
        & codenames
    )


def run(function) -> None:
    state_apps = MigrationExecutor(connection).loader.project_state(("claims", "0003_editors_group")).apps
    with connection.schema_editor(atomic=True) as schema_editor:
        function(state_apps, schema_editor)


def test_the_migration_runs_again_to_the_same_group_and_reverses():
    group = Group.objects.get(name="Editors")
    group.permissions.add(Permission.objects.get(codename="delete_claim"))  # a hand-made extra

    run(migration.create_editors_group)
    run(migration.create_editors_group)
    assert Group.objects.filter(name="Editors").count() == 1
    assert editors_permissions() == {("claims", codename) for codename in EDITING_AT_0003}

    run(migration.remove_editors_group)
    assert not Group.objects.filter(name="Editors").exists()
    run(migration.create_editors_group)
    assert editors_permissions() == {("claims", codename) for codename in EDITING_AT_0003}


def test_the_migration_creates_the_permissions_it_needs_on_a_database_without_them():
    Permission.objects.filter(content_type__app_label="claims").delete()
    run(migration.create_editors_group)
    assert editors_permissions() == {("claims", codename) for codename in EDITING_AT_0003}
    assert global_apps.get_app_config("claims").models_module is not None
