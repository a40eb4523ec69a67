"""The Editors group: exactly the permissions editing needs, and nothing on users or groups.

- speaker, source, claim, status: view, add, change. No delete: claims, speakers and sources are history
  (on_delete=PROTECT), and a status in use holds verdicts.
- verdict: view, add (record one on a claim's page), change (edit a draft, publish drafts). The admin keeps
  published verdicts read-only and a database trigger refuses to rewrite them. No delete.
- evidence: view, add, change, delete: a draft's citations. The admin keeps a published verdict's evidence
  read-only.
- change: view. The status-change record is append-only.

Creating the permissions here (not at the end of `migrate`, where Django normally does) lets a fresh
database get the group in the same run. Running it again sets the same permissions; reversing removes the
group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Editors"
PERMISSIONS = {
    "speaker": ("view", "add", "change"),
    "source": ("view", "add", "change"),
    "claim": ("view", "add", "change"),
    "status": ("view", "add", "change"),
    "verdict": ("view", "add", "change"),
    "evidence": ("view", "add", "change", "delete"),
    "change": ("view",),
}


def codenames():
    return sorted(f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions)


def create_editors_group(apps, schema_editor):
    database = schema_editor.connection.alias
    claims = apps.get_app_config("claims")
    # create_permissions() skips an app without a models module, which an app of the migration state is.
    claims.models_module = True
    try:
        create_permissions(claims, verbosity=0, using=database, apps=apps)
    finally:
        claims.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = codenames()
    permissions = list(
        Permission.objects.using(database).filter(content_type__app_label="claims", codename__in=wanted)
    )
    missing = set(wanted) - {permission.codename for permission in permissions}
    if missing:
        raise RuntimeError(f"Permissions missing for the {GROUP} group: {', '.join(sorted(missing))}")
    group, _ = Group.objects.using(database).get_or_create(name=GROUP)
    group.permissions.set(permissions)


def remove_editors_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0002_database_rules"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
