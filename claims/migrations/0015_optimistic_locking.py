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

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

# (table, the columns whose change is not an edit)
VERSIONED = [
    ("claims_speaker", ["version", "updated_at"]),
    ("claims_source", ["version", "updated_at"]),
    ("claims_status", ["version"]),
    (
        "claims_claim",
        # quote_normalised (migration 0018) is generated too: a BEFORE trigger sees it as NULL in NEW.
        [
            "version",
            "updated_at",
            "status_id",
            "status_changed_at",
            "scale",
            "search",
            "speaker_name",
            "quote_normalised",
        ],
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
        ("claims", "0014_review_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="claim",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="source",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="speaker",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="status",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="verdict",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.RunSQL(sql=FUNCTION, reverse_sql="DROP FUNCTION claims_bump_version()"),
        *(_trigger(table, ignored) for table, ignored in VERSIONED),
        # The audit history's event tables snapshot the version too (their triggers list every column; the
        # changes they record leave it out: claims.audit.UNRECORDED).
        pgtrigger.migrations.RemoveTrigger(
            model_name="claim",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="claim",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="claim",
            name="delete_delete",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="source",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="source",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="source",
            name="delete_delete",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="speaker",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="speaker",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="speaker",
            name="delete_delete",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="status",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="status",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="status",
            name="delete_delete",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="verdict",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="verdict",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="verdict",
            name="delete_delete",
        ),
        migrations.AddField(
            model_name="claimauditevent",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="sourceauditevent",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="speakerauditevent",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="statusauditevent",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        migrations.AddField(
            model_name="verdictauditevent",
            name="version",
            field=models.PositiveIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Goes up by one with every change: a form opened at an older version cannot save over it.",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="claim",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'speaker_id\', NEW."speaker_id", \'source_id\', NEW."source_id", \'slug\', NEW."slug", \'text\', NEW."text", \'quote\', NEW."quote", \'kind\', NEW."kind", \'said_on\', NEW."said_on", \'due_on\', NEW."due_on", \'status_id\', NEW."status_id", \'status_changed_at\', NEW."status_changed_at")) AS n(key, value) WHERE n.value <> \'null\'), NEW."created_at", NEW."due_on", NEW."id", NEW."kind", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."quote", NEW."said_on", NEW."slug", NEW."source_id", NEW."speaker_id", NEW."status_changed_at", NEW."status_id", NEW."text", NEW."updated_at", NEW."version"); RETURN NULL;',
                    hash="643488c392d3f36f084b1fe59875922f98c10403",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_df8fa",
                    table="claims_claim",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="claim",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."due_on" IS DISTINCT FROM (NEW."due_on") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."kind" IS DISTINCT FROM (NEW."kind") OR OLD."quote" IS DISTINCT FROM (NEW."quote") OR OLD."said_on" IS DISTINCT FROM (NEW."said_on") OR OLD."scale" IS DISTINCT FROM (NEW."scale") OR OLD."slug" IS DISTINCT FROM (NEW."slug") OR OLD."source_id" IS DISTINCT FROM (NEW."source_id") OR OLD."speaker_id" IS DISTINCT FROM (NEW."speaker_id") OR OLD."status_id" IS DISTINCT FROM (NEW."status_id") OR OLD."status_changed_at" IS DISTINCT FROM (NEW."status_changed_at") OR OLD."text" IS DISTINCT FROM (NEW."text") OR OLD."updated_at" IS DISTINCT FROM (NEW."updated_at") OR OLD."version" IS DISTINCT FROM (NEW."version"))',
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'speaker_id\', OLD."speaker_id", \'source_id\', OLD."source_id", \'slug\', OLD."slug", \'text\', OLD."text", \'quote\', OLD."quote", \'kind\', OLD."kind", \'said_on\', OLD."said_on", \'due_on\', OLD."due_on", \'status_id\', OLD."status_id", \'status_changed_at\', OLD."status_changed_at")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'speaker_id\', NEW."speaker_id", \'source_id\', NEW."source_id", \'slug\', NEW."slug", \'text\', NEW."text", \'quote\', NEW."quote", \'kind\', NEW."kind", \'said_on\', NEW."said_on", \'due_on\', NEW."due_on", \'status_id\', NEW."status_id", \'status_changed_at\', NEW."status_changed_at")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."created_at", NEW."due_on", NEW."id", NEW."kind", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."quote", NEW."said_on", NEW."slug", NEW."source_id", NEW."speaker_id", NEW."status_changed_at", NEW."status_id", NEW."text", NEW."updated_at", NEW."version"); RETURN NULL;',
                    hash="c91109250424bf5620f27f99e87a9890023c3aaf",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_fe4ba",
                    table="claims_claim",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="claim",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'speaker_id\', OLD."speaker_id", \'source_id\', OLD."source_id", \'slug\', OLD."slug", \'text\', OLD."text", \'quote\', OLD."quote", \'kind\', OLD."kind", \'said_on\', OLD."said_on", \'due_on\', OLD."due_on", \'status_id\', OLD."status_id", \'status_changed_at\', OLD."status_changed_at")) AS o(key, value) WHERE o.value <> \'null\'), OLD."created_at", OLD."due_on", OLD."id", OLD."kind", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."quote", OLD."said_on", OLD."slug", OLD."source_id", OLD."speaker_id", OLD."status_changed_at", OLD."status_id", OLD."text", OLD."updated_at", OLD."version"); RETURN NULL;',
                    hash="626ff104c9649c3162b39dd899d308a6430160f4",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_dbf31",
                    table="claims_claim",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="source",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "archived_at", "archived_text", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'title\', NEW."title", \'publisher\', NEW."publisher", \'authors\', NEW."authors", \'url\', NEW."url", \'published_on\', NEW."published_on", \'archived_text\', NEW."archived_text", \'archived_at\', NEW."archived_at")) AS n(key, value) WHERE n.value <> \'null\'), NEW."archived_at", NEW."archived_text", NEW."authors", NEW."created_at", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."published_on", NEW."publisher", NEW."title", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="4d6acb942f7439a814d6bf4788b59ead90645b28",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_bbb94",
                    table="claims_source",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="source",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "archived_at", "archived_text", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'title\', OLD."title", \'publisher\', OLD."publisher", \'authors\', OLD."authors", \'url\', OLD."url", \'published_on\', OLD."published_on", \'archived_text\', OLD."archived_text", \'archived_at\', OLD."archived_at")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'title\', NEW."title", \'publisher\', NEW."publisher", \'authors\', NEW."authors", \'url\', NEW."url", \'published_on\', NEW."published_on", \'archived_text\', NEW."archived_text", \'archived_at\', NEW."archived_at")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."archived_at", NEW."archived_text", NEW."authors", NEW."created_at", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."published_on", NEW."publisher", NEW."title", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="71502503682efbf37078489d234c9005bd888f26",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_fde8d",
                    table="claims_source",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="source",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "archived_at", "archived_text", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'title\', OLD."title", \'publisher\', OLD."publisher", \'authors\', OLD."authors", \'url\', OLD."url", \'published_on\', OLD."published_on", \'archived_text\', OLD."archived_text", \'archived_at\', OLD."archived_at")) AS o(key, value) WHERE o.value <> \'null\'), OLD."archived_at", OLD."archived_text", OLD."authors", OLD."created_at", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."published_on", OLD."publisher", OLD."title", OLD."updated_at", OLD."url", OLD."version"); RETURN NULL;',
                    hash="54c0364443b4dd9722a69de5bf83ff6a1f41e618",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_249e2",
                    table="claims_source",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="speaker",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_speakerauditevent" ("pgh_changes", "created_at", "description", "id", "name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "slug", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'name\', NEW."name", \'slug\', NEW."slug", \'role\', NEW."role", \'description\', NEW."description", \'url\', NEW."url")) AS n(key, value) WHERE n.value <> \'null\'), NEW."created_at", NEW."description", NEW."id", NEW."name", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."role", NEW."slug", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="1138c94dfb4c7fe3b4f6db96785ebb662793a71d",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_7cf94",
                    table="claims_speaker",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="speaker",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_speakerauditevent" ("pgh_changes", "created_at", "description", "id", "name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "slug", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'name\', OLD."name", \'slug\', OLD."slug", \'role\', OLD."role", \'description\', OLD."description", \'url\', OLD."url")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'name\', NEW."name", \'slug\', NEW."slug", \'role\', NEW."role", \'description\', NEW."description", \'url\', NEW."url")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."created_at", NEW."description", NEW."id", NEW."name", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."role", NEW."slug", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="4b874211ec29b6f7c0e01f3b5f94ed610bc349fa",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_d9d7a",
                    table="claims_speaker",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="speaker",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_speakerauditevent" ("pgh_changes", "created_at", "description", "id", "name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "slug", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'name\', OLD."name", \'slug\', OLD."slug", \'role\', OLD."role", \'description\', OLD."description", \'url\', OLD."url")) AS o(key, value) WHERE o.value <> \'null\'), OLD."created_at", OLD."description", OLD."id", OLD."name", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."role", OLD."slug", OLD."updated_at", OLD."url", OLD."version"); RETURN NULL;',
                    hash="6d78ed9f6bac56840ce3a9a5bad4a5d510e23129",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_b8590",
                    table="claims_speaker",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="status",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_statusauditevent" ("pgh_changes", "colour", "description", "id", "label", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "scale", "slug", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'scale\', NEW."scale", \'slug\', NEW."slug", \'label\', NEW."label", \'position\', NEW."position", \'colour\', NEW."colour", \'description\', NEW."description")) AS n(key, value) WHERE n.value <> \'null\'), NEW."colour", NEW."description", NEW."id", NEW."label", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."position", NEW."scale", NEW."slug", NEW."version"); RETURN NULL;',
                    hash="b394cb26a3a2d122dd5c29a4eee50ab133b41a40",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_24fd3",
                    table="claims_status",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="status",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_statusauditevent" ("pgh_changes", "colour", "description", "id", "label", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "scale", "slug", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'scale\', OLD."scale", \'slug\', OLD."slug", \'label\', OLD."label", \'position\', OLD."position", \'colour\', OLD."colour", \'description\', OLD."description")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'scale\', NEW."scale", \'slug\', NEW."slug", \'label\', NEW."label", \'position\', NEW."position", \'colour\', NEW."colour", \'description\', NEW."description")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."colour", NEW."description", NEW."id", NEW."label", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."position", NEW."scale", NEW."slug", NEW."version"); RETURN NULL;',
                    hash="df6a3c2d33007cff16f43da371814c326d9b2e18",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_08a72",
                    table="claims_status",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="status",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_statusauditevent" ("pgh_changes", "colour", "description", "id", "label", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "scale", "slug", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'scale\', OLD."scale", \'slug\', OLD."slug", \'label\', OLD."label", \'position\', OLD."position", \'colour\', OLD."colour", \'description\', OLD."description")) AS o(key, value) WHERE o.value <> \'null\'), OLD."colour", OLD."description", OLD."id", OLD."label", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."position", OLD."scale", OLD."slug", OLD."version"); RETURN NULL;',
                    hash="7074270eee08369277688a75d03502eba57a690d",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_ce575",
                    table="claims_status",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="verdict",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'status_id\', NEW."status_id", \'scale\', NEW."scale", \'summary\', NEW."summary", \'explanation\', NEW."explanation", \'published_at\', NEW."published_at", \'created_by_id\', NEW."created_by_id", \'created_at\', NEW."created_at")) AS n(key, value) WHERE n.value <> \'null\'), NEW."claim_id", NEW."created_at", NEW."created_by_id", NEW."explanation", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."published_at", NEW."scale", NEW."status_id", NEW."summary", NEW."version"); RETURN NULL;',
                    hash="79ac7e5f452badc63b30dd47e54c63e070d0c071",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_3cb73",
                    table="claims_verdict",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="verdict",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'status_id\', OLD."status_id", \'scale\', OLD."scale", \'summary\', OLD."summary", \'explanation\', OLD."explanation", \'published_at\', OLD."published_at", \'created_by_id\', OLD."created_by_id", \'created_at\', OLD."created_at")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'status_id\', NEW."status_id", \'scale\', NEW."scale", \'summary\', NEW."summary", \'explanation\', NEW."explanation", \'published_at\', NEW."published_at", \'created_by_id\', NEW."created_by_id", \'created_at\', NEW."created_at")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."claim_id", NEW."created_at", NEW."created_by_id", NEW."explanation", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."published_at", NEW."scale", NEW."status_id", NEW."summary", NEW."version"); RETURN NULL;',
                    hash="6629d55f31c7925a3f9621bc77b8f209c4e16cac",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_05fe6",
                    table="claims_verdict",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="verdict",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'status_id\', OLD."status_id", \'scale\', OLD."scale", \'summary\', OLD."summary", \'explanation\', OLD."explanation", \'published_at\', OLD."published_at", \'created_by_id\', OLD."created_by_id", \'created_at\', OLD."created_at")) AS o(key, value) WHERE o.value <> \'null\'), OLD."claim_id", OLD."created_at", OLD."created_by_id", OLD."explanation", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."published_at", OLD."scale", OLD."status_id", OLD."summary", OLD."version"); RETURN NULL;',
                    hash="42940cea9170567a98ff917768886fbdc5011b39",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_83861",
                    table="claims_verdict",
                    when="AFTER",
                ),
            ),
        ),
    ]
