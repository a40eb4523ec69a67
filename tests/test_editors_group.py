"""The Editors group made by migration claims/0003_editors_group, and both roles as migration
claims/0014_review_roles sets them (tests/test_review.py tests what each role may do)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db

migration = importlib.import_module("claims.migrations.0003_editors_group")
review_migration = importlib.import_module("claims.migrations.0014_review_roles")

# The Editors group since 0014: statuses are read-only to editors, and publishing is the Reviewers'.
EDITING = {
    "add_claim",
    "add_evidence",
    "add_source",
    "add_speaker",
    "add_verdict",
    "change_claim",
    "change_evidence",
    "change_source",
    "change_speaker",
    "change_verdict",
    "delete_evidence",
    "view_statuschange",
    "view_claim",
    "view_evidence",
    "view_source",
    "view_speaker",
    "view_status",
    "view_verdict",
    "view_correction",  # 0016: read-only, like the status changes
    # 0017: editors read the archived texts and add captures; nobody changes or deletes one.
    "view_sourcesnapshot",
    "add_sourcesnapshot",
}

REVIEWING = EDITING | {"publish_verdict", "delete_verdict"}

# What later migrations than 0014 give: view on corrections (0016), on and adding snapshots (0017).
AFTER_0014 = {"view_correction", "view_sourcesnapshot", "add_sourcesnapshot"}

# Migration 0003 made the group when the status-change model was still called Change (0005 renames it), and
# before 0014 took add and change on statuses away.
EDITING_BEFORE_0014 = (EDITING - AFTER_0014) | {"add_status", "change_status"}
EDITING_AT_0003 = (EDITING_BEFORE_0014 - {"view_statuschange"}) | {"view_change"}


def editors_permissions(group: str = "Editors") -> set[tuple[str, str]]:
    return set(Group.objects.get(name=group).permissions.values_list("content_type__app_label", "codename"))


def test_the_editors_group_has_exactly_the_permissions_editing_needs():
    assert editors_permissions() == {("claims", codename) for codename in EDITING}


def test_the_reviewers_group_has_the_editors_permissions_and_publishing():
    assert editors_permissions("Reviewers") == {("claims", codename) for codename in REVIEWING}
    assert Permission.objects.get(codename="publish_verdict").name == "Can publish verdicts"


def test_neither_role_edits_statuses_and_only_reviewers_publish():
    for group in ("Editors", "Reviewers"):
        codenames = {codename for _, codename in editors_permissions(group)}
        assert "view_status" in codenames
        assert not {"add_status", "change_status", "delete_status"} & codenames
    assert "publish_verdict" not in {codename for _, codename in editors_permissions("Editors")}


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


def run(function, at: str = "0003_editors_group") -> None:
    state_apps = MigrationExecutor(connection).loader.project_state(("claims", at)).apps
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


def test_the_review_migration_runs_again_to_the_same_groups_and_reverses():
    def run_0014(function) -> None:
        run(function, at="0014_review_roles")

    editors = Group.objects.get(name="Editors")
    editors.permissions.add(Permission.objects.get(codename="publish_verdict"))  # a hand-made extra

    run_0014(review_migration.create_review_roles)
    run_0014(review_migration.create_review_roles)
    assert Group.objects.filter(name__in=["Editors", "Reviewers"]).count() == 2
    # 0014's own sets: view on corrections comes with 0016.
    assert editors_permissions() == {("claims", codename) for codename in EDITING - AFTER_0014}
    assert editors_permissions("Reviewers") == {("claims", codename) for codename in REVIEWING - AFTER_0014}

    run_0014(review_migration.remove_review_roles)
    assert not Group.objects.filter(name="Reviewers").exists()
    assert not Permission.objects.filter(codename="publish_verdict").exists()
    assert editors_permissions() == {("claims", codename) for codename in EDITING_BEFORE_0014}

    run_0014(review_migration.create_review_roles)
    assert editors_permissions() == {("claims", codename) for codename in EDITING - AFTER_0014}
    assert editors_permissions("Reviewers") == {("claims", codename) for codename in REVIEWING - AFTER_0014}
