"""Webhook endpoints' owner: the API key that registered one through /api/v1/webhooks/ (null for the admin's),
with the (key, id) index its list reads; the audit history's triggers are remade to record it."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0024_site_clock"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="webhookendpoint",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="webhookendpoint",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="webhookendpoint",
            name="delete_delete",
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="key",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The API key that registered it through the API, which alone manages it there; empty: made in the admin. It is sent events only while its key is in force (not revoked or expired, its user active).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhook_endpoints",
                to="claims.clientkey",
                verbose_name="API key",
            ),
        ),
        migrations.AddField(
            model_name="webhookendpointauditevent",
            name="key",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The API key that registered it through the API, which alone manages it there; empty: made in the admin. It is sent events only while its key is in force (not revoked or expired, its user active).",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.clientkey",
                verbose_name="API key",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookendpoint",
            index=models.Index(fields=["key", "id"], name="claims_webhook_key_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="webhookendpoint",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_webhookendpointauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "description", "disabled_at", "disabled_reason", "event_types", "id", "is_active", "key_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_secret_expires_at", "speaker_id", "url") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'url\', NEW."url", \'description\', NEW."description", \'speaker_id\', NEW."speaker_id", \'claim_id\', NEW."claim_id", \'event_types\', NEW."event_types", \'previous_secret_expires_at\', NEW."previous_secret_expires_at", \'is_active\', NEW."is_active", \'disabled_reason\', NEW."disabled_reason", \'disabled_at\', NEW."disabled_at", \'created_at\', NEW."created_at", \'created_by_id\', NEW."created_by_id", \'key_id\', NEW."key_id")) AS n(key, value) WHERE n.value <> \'null\'), NEW."claim_id", NEW."created_at", NEW."created_by_id", NEW."description", NEW."disabled_at", NEW."disabled_reason", NEW."event_types", NEW."id", NEW."is_active", NEW."key_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."previous_secret_expires_at", NEW."speaker_id", NEW."url"); RETURN NULL;',
                    hash="6c85e5552e5a2d3ab4cddb8baf4f6991fccd58b0",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_61dac",
                    table="claims_webhookendpoint",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="webhookendpoint",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."claim_id" IS DISTINCT FROM (NEW."claim_id") OR OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."created_by_id" IS DISTINCT FROM (NEW."created_by_id") OR OLD."description" IS DISTINCT FROM (NEW."description") OR OLD."disabled_at" IS DISTINCT FROM (NEW."disabled_at") OR OLD."disabled_reason" IS DISTINCT FROM (NEW."disabled_reason") OR OLD."event_types" IS DISTINCT FROM (NEW."event_types") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."is_active" IS DISTINCT FROM (NEW."is_active") OR OLD."key_id" IS DISTINCT FROM (NEW."key_id") OR OLD."previous_secret_expires_at" IS DISTINCT FROM (NEW."previous_secret_expires_at") OR OLD."speaker_id" IS DISTINCT FROM (NEW."speaker_id") OR OLD."url" IS DISTINCT FROM (NEW."url"))',
                    func='INSERT INTO "claims_webhookendpointauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "description", "disabled_at", "disabled_reason", "event_types", "id", "is_active", "key_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_secret_expires_at", "speaker_id", "url") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'url\', OLD."url", \'description\', OLD."description", \'speaker_id\', OLD."speaker_id", \'claim_id\', OLD."claim_id", \'event_types\', OLD."event_types", \'previous_secret_expires_at\', OLD."previous_secret_expires_at", \'is_active\', OLD."is_active", \'disabled_reason\', OLD."disabled_reason", \'disabled_at\', OLD."disabled_at", \'created_at\', OLD."created_at", \'created_by_id\', OLD."created_by_id", \'key_id\', OLD."key_id")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'url\', NEW."url", \'description\', NEW."description", \'speaker_id\', NEW."speaker_id", \'claim_id\', NEW."claim_id", \'event_types\', NEW."event_types", \'previous_secret_expires_at\', NEW."previous_secret_expires_at", \'is_active\', NEW."is_active", \'disabled_reason\', NEW."disabled_reason", \'disabled_at\', NEW."disabled_at", \'created_at\', NEW."created_at", \'created_by_id\', NEW."created_by_id", \'key_id\', NEW."key_id")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."claim_id", NEW."created_at", NEW."created_by_id", NEW."description", NEW."disabled_at", NEW."disabled_reason", NEW."event_types", NEW."id", NEW."is_active", NEW."key_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."previous_secret_expires_at", NEW."speaker_id", NEW."url"); RETURN NULL;',
                    hash="58708d47df09ed8e4cdd065e40d73f5727a7fb3f",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_3d8b2",
                    table="claims_webhookendpoint",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="webhookendpoint",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_webhookendpointauditevent" ("pgh_changes", "claim_id", "created_at", "created_by_id", "description", "disabled_at", "disabled_reason", "event_types", "id", "is_active", "key_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_secret_expires_at", "speaker_id", "url") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'url\', OLD."url", \'description\', OLD."description", \'speaker_id\', OLD."speaker_id", \'claim_id\', OLD."claim_id", \'event_types\', OLD."event_types", \'previous_secret_expires_at\', OLD."previous_secret_expires_at", \'is_active\', OLD."is_active", \'disabled_reason\', OLD."disabled_reason", \'disabled_at\', OLD."disabled_at", \'created_at\', OLD."created_at", \'created_by_id\', OLD."created_by_id", \'key_id\', OLD."key_id")) AS o(key, value) WHERE o.value <> \'null\'), OLD."claim_id", OLD."created_at", OLD."created_by_id", OLD."description", OLD."disabled_at", OLD."disabled_reason", OLD."event_types", OLD."id", OLD."is_active", OLD."key_id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."previous_secret_expires_at", OLD."speaker_id", OLD."url"); RETURN NULL;',
                    hash="dcede2777788941613c23fc2ff95ba2d703c0950",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_bcbff",
                    table="claims_webhookendpoint",
                    when="AFTER",
                ),
            ),
        ),
    ]
