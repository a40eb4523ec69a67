"""The Open status no longer says "Not yet due": a status cannot know whether its claim's due date has
passed, so the claim page said "Open — Not yet due" of claims overdue for months. The page now says the due
date and whether the claim is overdue (claims.models.overdue_condition); the status says what it means.

Only a description still as shipped is rewritten: an editor's own wording is kept.
"""

from __future__ import annotations

from django.db import migrations

OLD = "Not yet due, or no action is known yet: being tracked."
NEW = "Being tracked: no outcome is known yet. Once its due date has passed it is overdue, until a verdict settles it."


def forwards(apps, schema_editor):
    apps.get_model("claims", "Status").objects.filter(slug="open", description=OLD).update(description=NEW)


def backwards(apps, schema_editor):
    apps.get_model("claims", "Status").objects.filter(slug="open", description=NEW).update(description=OLD)


class Migration(migrations.Migration):
    dependencies = [("claims", "0021_events_feed")]

    operations = [migrations.RunPython(forwards, backwards)]
