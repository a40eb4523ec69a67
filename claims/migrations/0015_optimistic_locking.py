"""Optimistic locking: a `version` on claims, speakers, sources, statuses and verdicts, moved by the database.

One BEFORE UPDATE trigger function, attached to each table with the columns that do not count as an edit:
when any other column changes, NEW.version becomes OLD.version + 1; when none does, it stays OLD.version.
So every writer moves it (the admin, claims.services, a queryset update, raw SQL), none can set it by hand
or back, and a write that changes nothing an editor sees (a save of the same values, a touched updated_at)
leaves open forms valid.

Not counted as an edit:
- everywhere: the version itself and updated_at (written on every save, even of the same values);
- on a claim: its status and status_changed_at (a publication, written by claims.services only; the
  new-verdict row checks the status it was opened with instead, and a claim form can never write the status
  back), and the columns the database derives (scale, search, speaker_name: a speaker's rename would
  otherwise make every open form of their claims stale).
"""

from django.db import migrations, models

# (table, the columns whose change is not an edit)
VERSIONED = [
    ("claims_speaker", ["version", "updated_at"]),
    ("claims_source", ["version", "updated_at"]),
    ("claims_status", ["version"]),
    (
        "claims_claim",
        ["version", "updated_at", "status_id", "status_changed_at", "scale", "search", "speaker_name"],
    ),
    ("claims_verdict", ["version"]),
]

FUNCTION = r"""
CREATE FUNCTION claims_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV: the columns whose change is not an edit (the version among them).
    IF (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV) THEN
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := OLD.version;
    END IF;
    RETURN NEW;
END $$;
"""


def _trigger(table: str, ignored: list[str]) -> migrations.RunSQL:
    arguments = ", ".join(f"'{column}'" for column in ignored)
    return migrations.RunSQL(
        sql=f"CREATE TRIGGER {table}_version BEFORE UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION claims_bump_version({arguments})",
        reverse_sql=f"DROP TRIGGER {table}_version ON {table}",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0012_api_throttle"),
    ]

    operations = [
        migrations.AddField(
            model_name="claim",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="source",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="speaker",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="status",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="verdict",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.RunSQL(sql=FUNCTION, reverse_sql="DROP FUNCTION claims_bump_version()"),
        *(_trigger(table, ignored) for table, ignored in VERSIONED),
    ]
