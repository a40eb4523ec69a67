"""Change becomes StatusChange, its `at`/`by` become `published_at`/`published_by`; the table stays claims_change.

"Change" collided with Django's own vocabulary (the `change` permission, `admin:claims_change_change`), and
`at`/`by` said under other names what the verdict calls `published_at` and the publisher. The permissions keep
their rows (and so the Editors group keeps them), renamed to the model's new codename.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def rename_permissions(apps, schema_editor, old="change", new="statuschange"):
    Permission = apps.get_model("auth", "Permission")
    database = schema_editor.connection.alias
    for action in ("add", "change", "delete", "view"):
        Permission.objects.using(database).filter(
            content_type__app_label="claims", codename=f"{action}_{old}"
        ).update(
            codename=f"{action}_{new}",
            name=f"Can {action} {'status change' if new == 'statuschange' else 'change'}",
        )


def rename_permissions_back(apps, schema_editor):
    rename_permissions(apps, schema_editor, old="statuschange", new="change")


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0004_evidence_of_published_verdicts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Name the table first, so that renaming the model leaves it where it is.
        migrations.AlterModelTable(name="change", table="claims_change"),
        migrations.RenameModel(old_name="Change", new_name="StatusChange"),
        migrations.RenameField(model_name="statuschange", old_name="at", new_name="published_at"),
        migrations.RenameField(model_name="statuschange", old_name="by", new_name="published_by"),
        migrations.AlterField(
            model_name="statuschange",
            name="claim",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="status_changes", to="claims.claim"
            ),
        ),
        migrations.AlterField(
            model_name="statuschange",
            name="verdict",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="status_change", to="claims.verdict"
            ),
        ),
        migrations.RunPython(rename_permissions, rename_permissions_back),
    ]
