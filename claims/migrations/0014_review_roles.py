"""Review before publication: the publish_verdict permission, and the two roles as groups.

- Editors: write claims, speakers, sources and draft verdicts, and nothing more.
  - speaker, source, claim: view, add, change. No delete: they are history (on_delete=PROTECT).
  - status: view only. The rating scales are the newsroom's policy: superusers edit them.
  - verdict: view, add (record a draft on a claim's page), change (edit a draft). Not publish_verdict.
  - evidence: view, add, change, delete: a draft's citations (a published verdict's are read-only).
  - statuschange: view. The status-change record is append-only.
- Reviewers: the Editors' permissions, plus publish_verdict (publish someone else's draft: claims.services
  publication_permission_errors) and delete_verdict (discard a draft; the admin offers it on drafts only and
  a database trigger refuses to delete a published verdict).

Creating the permissions here (not at the end of `migrate`, where Django normally does) lets a fresh
database get the groups, with the new permission, in the same run. Running it again sets the same
permissions; reversing gives the Editors group back its 0003 permissions (add and change on statuses, no
review), removes the Reviewers group and the publish_verdict permission.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

EDITORS = "Editors"
REVIEWERS = "Reviewers"
EDITING = {
    "speaker": ("view", "add", "change"),
    "source": ("view", "add", "change"),
    "claim": ("view", "add", "change"),
    "status": ("view",),
    "verdict": ("view", "add", "change"),
    "evidence": ("view", "add", "change", "delete"),
    "statuschange": ("view",),
}
REVIEWING = {"verdict": ("publish", "delete")}
# The Editors group as migration 0003 made it (with the status-change model's name since 0005).
EDITING_BEFORE = {**EDITING, "status": ("view", "add", "change")}


def codenames(*permissions: dict[str, tuple[str, ...]]) -> list[str]:
    return sorted(
        {
            f"{action}_{model}"
            for actions_of in permissions
            for model, actions in actions_of.items()
            for action in actions
        }
    )


def _set_group(apps, database, name, wanted):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(database).filter(content_type__app_label="claims", codename__in=wanted)
    )
    missing = set(wanted) - {permission.codename for permission in permissions}
    if missing:
        raise RuntimeError(f"Permissions missing for the {name} group: {', '.join(sorted(missing))}")
    group, _ = Group.objects.using(database).get_or_create(name=name)
    group.permissions.set(permissions)


def create_review_roles(apps, schema_editor):
    database = schema_editor.connection.alias
    claims = apps.get_app_config("claims")
    # create_permissions() skips an app without a models module, which an app of the migration state is.
    claims.models_module = True
    try:
        create_permissions(claims, verbosity=0, using=database, apps=apps)
    finally:
        claims.models_module = None
    _set_group(apps, database, EDITORS, codenames(EDITING))
    _set_group(apps, database, REVIEWERS, codenames(EDITING, REVIEWING))


def remove_review_roles(apps, schema_editor):
    database = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(database).filter(name=REVIEWERS).delete()
    _set_group(apps, database, EDITORS, codenames(EDITING_BEFORE))
    apps.get_model("auth", "Permission").objects.using(database).filter(
        content_type__app_label="claims", codename="publish_verdict"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0013_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="verdict",
            options={
                "ordering": ["-published_at", "-id"],
                "permissions": [("publish_verdict", "Can publish verdicts")],
            },
        ),
        migrations.AddIndex(
            model_name="verdict",
            index=models.Index(
                condition=models.Q(("published_at__isnull", True)),
                fields=["created_at", "id"],
                name="claims_verdict_draft_queue_idx",
            ),
        ),
        migrations.RunPython(create_review_roles, remove_review_roles),
    ]
