"""Source snapshots: a source's archived text becomes immutable captures, and a claim's quote is checked.

- SourceSnapshot holds a source's text as captured, with its SHA-256 (set by the app, checked by a CHECK:
  PostgreSQL's convert_to() is not IMMUTABLE, so it cannot be a generated column) and its capture time.
  Each source's archived_text/archived_at moves into one snapshot (captured at archived_at, or at the
  source's last update when that was empty), and the two columns go.
- A claim's quote has a fidelity (verbatim, paraphrase, reported; empty without a quote), and a verified
  verbatim quote the snapshot and offsets it was found at. Existing quotes become verbatim and are checked
  here against their source's snapshot, by claims.quotes.find_quote as save_claim does: those found get
  their offsets; those not found stay verbatim and unverified (the page says so) until an editor saves them.
- The database holds the rules: a snapshot's text, capture time and source are never changed; a snapshot
  is not deleted while its source is relied on by a published claim or a published verdict's evidence, nor
  while such a publication is under way (the trigger waits for it; a verified quote's snapshot is also held
  by its foreign key); a claim's verified quote is in an archived
  text of the claim's own source (a composite foreign key).
- Editors and Reviewers may view snapshots and add them (a new capture), never change or delete them.

Reversing puts each source's latest snapshot back into archived_text/archived_at; earlier captures, and
the quotes' fidelities and offsets, are lost.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

import claims.models
from claims.quotes import find_quote

SNAPSHOT_PERMISSIONS = ("view_sourcesnapshot", "add_sourcesnapshot")

RULES = r"""
ALTER TABLE claims_claim
    ADD CONSTRAINT claims_claim_quote_snapshot_source_fk FOREIGN KEY (quote_snapshot_id, source_id)
        REFERENCES claims_sourcesnapshot (id, source_id) DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION claims_sourcesnapshot_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (OLD.source_id, OLD.text, OLD.sha256, OLD.captured_at)
            IS DISTINCT FROM (NEW.source_id, NEW.text, NEW.sha256, NEW.captured_at)
        THEN
            RAISE EXCEPTION 'An archived text is never changed: add a new capture of the source instead.'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    -- Wait for any publication under way to commit, so the checks below see it: every publication holds
    -- the changes feed's advisory lock (claims.services.CHANGE_FEED_LOCK) until it commits. A publication
    -- that takes the lock after this is ordered after the delete.
    PERFORM pg_advisory_xact_lock(7146532901);
    IF EXISTS (SELECT 1 FROM claims_claim WHERE source_id = OLD.source_id AND status_id IS NOT NULL)
        OR EXISTS (
            SELECT 1 FROM claims_evidence e JOIN claims_verdict v ON v.id = e.verdict_id
            WHERE e.source_id = OLD.source_id AND v.published_at IS NOT NULL
        )
    THEN
        RAISE EXCEPTION 'This archived text''s source is relied on by a published claim or verdict, so its '
            'captures are kept.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER claims_sourcesnapshot_keep BEFORE UPDATE OR DELETE ON claims_sourcesnapshot
    FOR EACH ROW EXECUTE FUNCTION claims_sourcesnapshot_keep();
"""

RULES_BACKWARD = r"""
DROP TRIGGER claims_sourcesnapshot_keep ON claims_sourcesnapshot;
DROP FUNCTION claims_sourcesnapshot_keep();
ALTER TABLE claims_claim DROP CONSTRAINT claims_claim_quote_snapshot_source_fk;
"""


def texts_to_snapshots(apps, schema_editor):
    """One snapshot per source with a text, then each quote made verbatim and checked against it."""
    database = schema_editor.connection.alias
    # Foreign keys checked at once, so no check is pending when the columns are altered below.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Source = apps.get_model("claims", "Source")
    SourceSnapshot = apps.get_model("claims", "SourceSnapshot")
    Claim = apps.get_model("claims", "Claim")
    texts = {}
    for source in Source.objects.using(database).exclude(archived_text="").iterator():
        snapshot = SourceSnapshot.objects.using(database).create(
            source_id=source.pk,
            text=source.archived_text,
            sha256=claims.models.sha256_hex(source.archived_text),
            captured_at=source.archived_at or source.updated_at,
        )
        texts[source.pk] = (snapshot.pk, source.archived_text)
    quoted = (
        Claim.objects.using(database)
        .exclude(quote="")
        .values_list("pk", "quote", "source_id", "speaker__name")
    )
    for pk, quote, source_id, speaker_name in quoted.iterator():
        fields = {"fidelity": "verbatim"}
        if source_id in texts:
            snapshot_id, text = texts[source_id]
            found = find_quote(quote, text, speaker_name)
            if found is not None:
                fields.update(quote_snapshot_id=snapshot_id, quote_start=found[0], quote_end=found[1])
        Claim.objects.using(database).filter(pk=pk).update(**fields)
    schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


def snapshots_to_texts(apps, schema_editor):
    """Each source's latest snapshot back into its archived_text and archived_at."""
    database = schema_editor.connection.alias
    Source = apps.get_model("claims", "Source")
    SourceSnapshot = apps.get_model("claims", "SourceSnapshot")
    for snapshot in (
        SourceSnapshot.objects.using(database)
        .order_by("source_id", "-captured_at", "-id")
        .distinct("source_id")
    ):
        Source.objects.using(database).filter(pk=snapshot.source_id).update(
            archived_text=snapshot.text, archived_at=snapshot.captured_at
        )


def editors_may_capture(apps, schema_editor):
    """The Editors (0003) and Reviewers (0014) groups may view and add snapshots."""
    database = schema_editor.connection.alias
    claims_app = apps.get_app_config("claims")
    claims_app.models_module = True
    try:
        create_permissions(claims_app, verbosity=0, using=database, apps=apps)
    finally:
        claims_app.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.using(database).filter(name__in=["Editors", "Reviewers"]):
        group.permissions.add(
            *Permission.objects.using(database).filter(
                content_type__app_label="claims", codename__in=SNAPSHOT_PERMISSIONS
            )
        )


def editors_may_not_capture(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    database = schema_editor.connection.alias
    for group in Group.objects.using(database).filter(name__in=["Editors", "Reviewers"]):
        group.permissions.remove(
            *Permission.objects.using(database).filter(
                content_type__app_label="claims", codename__in=SNAPSHOT_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0016_corrections"),
        ("pghistory", "0007_auto_20250421_0444"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SourceSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("text", models.TextField(help_text="The document's text exactly as received.")),
                (
                    "sha256",
                    models.CharField(
                        editable=False,
                        help_text="The SHA-256 of the text's UTF-8 bytes; the database checks it against the text.",
                        max_length=64,
                        verbose_name="SHA-256",
                    ),
                ),
                (
                    "captured_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the text was captured (archived).",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="snapshots",
                        to="claims.source",
                    ),
                ),
            ],
            options={
                "verbose_name": "archived text",
                "verbose_name_plural": "archived texts",
                "ordering": ["-captured_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="sourcesnapshot",
            index=models.Index(fields=["source", "-captured_at", "-id"], name="claims_snapshot_latest_idx"),
        ),
        migrations.AddIndex(
            model_name="sourcesnapshot",
            index=models.Index(fields=["-captured_at", "-id"], name="claims_snapshot_captured_idx"),
        ),
        migrations.AddConstraint(
            model_name="sourcesnapshot",
            constraint=models.CheckConstraint(
                condition=models.Q(("text", ""), _negated=True),
                name="claims_snapshot_text_not_empty",
                violation_error_message="An archived text cannot be empty.",
            ),
        ),
        migrations.AddConstraint(
            model_name="sourcesnapshot",
            constraint=models.CheckConstraint(
                condition=models.Q(("sha256", claims.models.SHA256Hex("text"))),
                name="claims_snapshot_sha256_of_text",
                violation_error_message="The SHA-256 does not match the text.",
            ),
        ),
        migrations.AddConstraint(
            model_name="sourcesnapshot",
            constraint=models.UniqueConstraint(
                fields=("id", "source"), name="claims_snapshot_id_source_uniq"
            ),
        ),
        migrations.AddField(
            model_name="claim",
            name="fidelity",
            field=models.CharField(
                blank=True,
                choices=[
                    ("verbatim", "Verbatim: the speaker's exact words, as the source quotes them"),
                    ("paraphrase", "Paraphrase: the speaker's meaning, in other words"),
                    ("reported", "Reported: the source's account of what was said (indirect speech)"),
                ],
                default="",
                help_text="How the quote stands to the source: verbatim (checked against the archived text), a paraphrase or reported speech (not checked). Empty when there is no quote.",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="claim",
            name="quote_snapshot",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="The archived text the verbatim quote was found in.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="quoted_by",
                to="claims.sourcesnapshot",
            ),
        ),
        migrations.AddField(
            model_name="claim",
            name="quote_start",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="claim",
            name="quote_end",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="claim",
            name="quote",
            field=models.TextField(
                blank=True,
                help_text="The speaker's words as the source gives them; empty when the claim has no quote. A verbatim quote must be found in the source's archived text (quotation marks, dashes and spacing may differ).",
            ),
        ),
        migrations.RunPython(texts_to_snapshots, snapshots_to_texts),
        migrations.AddConstraint(
            model_name="claim",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("fidelity", ""), ("quote", "")),
                    models.Q(
                        models.Q(("quote", ""), _negated=True),
                        ("fidelity__in", ["verbatim", "paraphrase", "reported"]),
                    ),
                    _connector="OR",
                ),
                name="claims_claim_fidelity_with_quote",
                violation_error_message="A quote needs its fidelity (verbatim, paraphrase or reported), and only a quote has one.",
            ),
        ),
        migrations.AddConstraint(
            model_name="claim",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("quote_end__isnull", True),
                        ("quote_snapshot__isnull", True),
                        ("quote_start__isnull", True),
                    ),
                    models.Q(
                        ("fidelity", "verbatim"),
                        ("quote_end__gt", models.F("quote_start")),
                        ("quote_snapshot__isnull", False),
                        ("quote_start__gte", 0),
                    ),
                    _connector="OR",
                ),
                name="claims_claim_quote_offsets",
                violation_error_message="A verified quote has its snapshot and both offsets (start before end), and only a verbatim quote is verified.",
            ),
        ),
        migrations.RemoveField(
            model_name="source",
            name="archived_text",
        ),
        migrations.RemoveField(
            model_name="source",
            name="archived_at",
        ),
        migrations.RunSQL(RULES, RULES_BACKWARD),
        migrations.RunPython(editors_may_capture, editors_may_not_capture),
        # The audit history of the new models and columns (claims.audit), and of Source without its archived
        # text: in this migration, so that no state between this and a later one has a trigger that names a
        # dropped column.
        migrations.CreateModel(
            name="CorrectionAuditevent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                (
                    "pgh_changes",
                    models.JSONField(
                        help_text="The columns this write changed, as {column: [old, new]} (old is null for an insert, new for a delete). Computed by the trigger from the row before and after the write.",
                        null=True,
                    ),
                ),
                ("id", models.BigIntegerField()),
                ("note", models.TextField(help_text="What was corrected and why, for readers.")),
                (
                    "changes",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="What changed: {field: {old, new}}, with speakers and sources by name and id.",
                    ),
                ),
                (
                    "published_at",
                    models.DateTimeField(
                        help_text="When the correction was published (the database's clock)."
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="OldClaimSlugAuditevent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                (
                    "pgh_changes",
                    models.JSONField(
                        help_text="The columns this write changed, as {column: [old, new]} (old is null for an insert, new for a delete). Computed by the trigger from the row before and after the write.",
                        null=True,
                    ),
                ),
                ("id", models.BigIntegerField()),
                ("slug", models.SlugField(db_index=False, max_length=200)),
                (
                    "retired_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the slug was changed.",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="OldSpeakerSlugAuditevent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                (
                    "pgh_changes",
                    models.JSONField(
                        help_text="The columns this write changed, as {column: [old, new]} (old is null for an insert, new for a delete). Computed by the trigger from the row before and after the write.",
                        null=True,
                    ),
                ),
                ("id", models.BigIntegerField()),
                ("slug", models.SlugField(db_index=False, max_length=200)),
                (
                    "retired_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the slug was changed.",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="SourceSnapshotAuditevent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                (
                    "pgh_changes",
                    models.JSONField(
                        help_text="The columns this write changed, as {column: [old, new]} (old is null for an insert, new for a delete). Computed by the trigger from the row before and after the write.",
                        null=True,
                    ),
                ),
                ("id", models.BigIntegerField()),
                ("text", models.TextField(help_text="The document's text exactly as received.")),
                (
                    "sha256",
                    models.CharField(
                        editable=False,
                        help_text="The SHA-256 of the text's UTF-8 bytes; the database checks it against the text.",
                        max_length=64,
                        verbose_name="SHA-256",
                    ),
                ),
                (
                    "captured_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the text was captured (archived).",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "abstract": False,
            },
        ),
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
        migrations.RemoveField(
            model_name="sourceauditevent",
            name="archived_at",
        ),
        migrations.RemoveField(
            model_name="sourceauditevent",
            name="archived_text",
        ),
        migrations.AddField(
            model_name="claimauditevent",
            name="fidelity",
            field=models.CharField(
                blank=True,
                choices=[
                    ("verbatim", "Verbatim: the speaker's exact words, as the source quotes them"),
                    ("paraphrase", "Paraphrase: the speaker's meaning, in other words"),
                    ("reported", "Reported: the source's account of what was said (indirect speech)"),
                ],
                default="",
                help_text="How the quote stands to the source: verbatim (checked against the archived text), a paraphrase or reported speech (not checked). Empty when there is no quote.",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="claimauditevent",
            name="quote_end",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="claimauditevent",
            name="quote_snapshot",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                help_text="The archived text the verbatim quote was found in.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.sourcesnapshot",
            ),
        ),
        migrations.AddField(
            model_name="claimauditevent",
            name="quote_start",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="verdictauditevent",
            name="correction_note",
            field=models.TextField(
                blank=True,
                db_default="",
                default="",
                help_text="Facts only: when this verdict changes a published rating, why. Required then, and public as a correction once the verdict is published.",
                verbose_name="reason for changing the rating",
            ),
        ),
        migrations.AlterField(
            model_name="claimauditevent",
            name="quote",
            field=models.TextField(
                blank=True,
                help_text="The speaker's words as the source gives them; empty when the claim has no quote. A verbatim quote must be found in the source's archived text (quotation marks, dashes and spacing may differ).",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="claim",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "fidelity", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "quote_end", "quote_snapshot_id", "quote_start", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'speaker_id\', NEW."speaker_id", \'source_id\', NEW."source_id", \'slug\', NEW."slug", \'text\', NEW."text", \'quote\', NEW."quote", \'fidelity\', NEW."fidelity", \'quote_snapshot_id\', NEW."quote_snapshot_id", \'quote_start\', NEW."quote_start", \'quote_end\', NEW."quote_end", \'kind\', NEW."kind", \'said_on\', NEW."said_on", \'due_on\', NEW."due_on", \'status_id\', NEW."status_id", \'status_changed_at\', NEW."status_changed_at")) AS n(key, value) WHERE n.value <> \'null\'), NEW."created_at", NEW."due_on", NEW."fidelity", NEW."id", NEW."kind", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."quote", NEW."quote_end", NEW."quote_snapshot_id", NEW."quote_start", NEW."said_on", NEW."slug", NEW."source_id", NEW."speaker_id", NEW."status_changed_at", NEW."status_id", NEW."text", NEW."updated_at", NEW."version"); RETURN NULL;',
                    hash="6eaa3384eb8e9324551f5f3a393d335c643ff80a",
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
                    condition='WHEN (OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."due_on" IS DISTINCT FROM (NEW."due_on") OR OLD."fidelity" IS DISTINCT FROM (NEW."fidelity") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."kind" IS DISTINCT FROM (NEW."kind") OR OLD."quote" IS DISTINCT FROM (NEW."quote") OR OLD."quote_end" IS DISTINCT FROM (NEW."quote_end") OR OLD."quote_snapshot_id" IS DISTINCT FROM (NEW."quote_snapshot_id") OR OLD."quote_start" IS DISTINCT FROM (NEW."quote_start") OR OLD."said_on" IS DISTINCT FROM (NEW."said_on") OR OLD."scale" IS DISTINCT FROM (NEW."scale") OR OLD."slug" IS DISTINCT FROM (NEW."slug") OR OLD."source_id" IS DISTINCT FROM (NEW."source_id") OR OLD."speaker_id" IS DISTINCT FROM (NEW."speaker_id") OR OLD."status_id" IS DISTINCT FROM (NEW."status_id") OR OLD."status_changed_at" IS DISTINCT FROM (NEW."status_changed_at") OR OLD."text" IS DISTINCT FROM (NEW."text") OR OLD."updated_at" IS DISTINCT FROM (NEW."updated_at") OR OLD."version" IS DISTINCT FROM (NEW."version"))',
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "fidelity", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "quote_end", "quote_snapshot_id", "quote_start", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'speaker_id\', OLD."speaker_id", \'source_id\', OLD."source_id", \'slug\', OLD."slug", \'text\', OLD."text", \'quote\', OLD."quote", \'fidelity\', OLD."fidelity", \'quote_snapshot_id\', OLD."quote_snapshot_id", \'quote_start\', OLD."quote_start", \'quote_end\', OLD."quote_end", \'kind\', OLD."kind", \'said_on\', OLD."said_on", \'due_on\', OLD."due_on", \'status_id\', OLD."status_id", \'status_changed_at\', OLD."status_changed_at")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'speaker_id\', NEW."speaker_id", \'source_id\', NEW."source_id", \'slug\', NEW."slug", \'text\', NEW."text", \'quote\', NEW."quote", \'fidelity\', NEW."fidelity", \'quote_snapshot_id\', NEW."quote_snapshot_id", \'quote_start\', NEW."quote_start", \'quote_end\', NEW."quote_end", \'kind\', NEW."kind", \'said_on\', NEW."said_on", \'due_on\', NEW."due_on", \'status_id\', NEW."status_id", \'status_changed_at\', NEW."status_changed_at")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."created_at", NEW."due_on", NEW."fidelity", NEW."id", NEW."kind", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."quote", NEW."quote_end", NEW."quote_snapshot_id", NEW."quote_start", NEW."said_on", NEW."slug", NEW."source_id", NEW."speaker_id", NEW."status_changed_at", NEW."status_id", NEW."text", NEW."updated_at", NEW."version"); RETURN NULL;',
                    hash="23226e7c07fb3a9f3feb4cc8a13aa6c43577ceb0",
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
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "fidelity", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "quote_end", "quote_snapshot_id", "quote_start", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'speaker_id\', OLD."speaker_id", \'source_id\', OLD."source_id", \'slug\', OLD."slug", \'text\', OLD."text", \'quote\', OLD."quote", \'fidelity\', OLD."fidelity", \'quote_snapshot_id\', OLD."quote_snapshot_id", \'quote_start\', OLD."quote_start", \'quote_end\', OLD."quote_end", \'kind\', OLD."kind", \'said_on\', OLD."said_on", \'due_on\', OLD."due_on", \'status_id\', OLD."status_id", \'status_changed_at\', OLD."status_changed_at")) AS o(key, value) WHERE o.value <> \'null\'), OLD."created_at", OLD."due_on", OLD."fidelity", OLD."id", OLD."kind", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."quote", OLD."quote_end", OLD."quote_snapshot_id", OLD."quote_start", OLD."said_on", OLD."slug", OLD."source_id", OLD."speaker_id", OLD."status_changed_at", OLD."status_id", OLD."text", OLD."updated_at", OLD."version"); RETURN NULL;',
                    hash="ebf2443f93f20319f7723573fc73cb1bb387e3c0",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_dbf31",
                    table="claims_claim",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="correction",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_correctionauditevent" ("pgh_changes", "changes", "claim_id", "from_status_id", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "published_by_id", "to_status_id", "verdict_id") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'note\', NEW."note", \'changes\', NEW."changes", \'verdict_id\', NEW."verdict_id", \'from_status_id\', NEW."from_status_id", \'to_status_id\', NEW."to_status_id", \'published_at\', NEW."published_at", \'published_by_id\', NEW."published_by_id")) AS n(key, value) WHERE n.value <> \'null\'), NEW."changes", NEW."claim_id", NEW."from_status_id", NEW."id", NEW."note", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."published_at", NEW."published_by_id", NEW."to_status_id", NEW."verdict_id"); RETURN NULL;',
                    hash="d02eb24315f34a44f6552501669f5a7d0bcb00ef",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_f2c24",
                    table="claims_correction",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="correction",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_correctionauditevent" ("pgh_changes", "changes", "claim_id", "from_status_id", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "published_by_id", "to_status_id", "verdict_id") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'note\', OLD."note", \'changes\', OLD."changes", \'verdict_id\', OLD."verdict_id", \'from_status_id\', OLD."from_status_id", \'to_status_id\', OLD."to_status_id", \'published_at\', OLD."published_at", \'published_by_id\', OLD."published_by_id")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'note\', NEW."note", \'changes\', NEW."changes", \'verdict_id\', NEW."verdict_id", \'from_status_id\', NEW."from_status_id", \'to_status_id\', NEW."to_status_id", \'published_at\', NEW."published_at", \'published_by_id\', NEW."published_by_id")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."changes", NEW."claim_id", NEW."from_status_id", NEW."id", NEW."note", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."published_at", NEW."published_by_id", NEW."to_status_id", NEW."verdict_id"); RETURN NULL;',
                    hash="1d85d2cdc24c753438f7e0674190a810d54e8d4d",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_e23e3",
                    table="claims_correction",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="correction",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_correctionauditevent" ("pgh_changes", "changes", "claim_id", "from_status_id", "id", "note", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "published_by_id", "to_status_id", "verdict_id") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'note\', OLD."note", \'changes\', OLD."changes", \'verdict_id\', OLD."verdict_id", \'from_status_id\', OLD."from_status_id", \'to_status_id\', OLD."to_status_id", \'published_at\', OLD."published_at", \'published_by_id\', OLD."published_by_id")) AS o(key, value) WHERE o.value <> \'null\'), OLD."changes", OLD."claim_id", OLD."from_status_id", OLD."id", OLD."note", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."published_at", OLD."published_by_id", OLD."to_status_id", OLD."verdict_id"); RETURN NULL;',
                    hash="5da9af5542e455a8a2076b8344b54330f4b7e11b",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_b6d31",
                    table="claims_correction",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldclaimslug",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_oldclaimslugauditevent" ("pgh_changes", "claim_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'slug\', NEW."slug", \'retired_at\', NEW."retired_at", \'claim_id\', NEW."claim_id")) AS n(key, value) WHERE n.value <> \'null\'), NEW."claim_id", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."retired_at", NEW."slug"); RETURN NULL;',
                    hash="86ba14d3bd357ff397587d715bb6fe76b4359a6f",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_4e6a9",
                    table="claims_oldclaimslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldclaimslug",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_oldclaimslugauditevent" ("pgh_changes", "claim_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'slug\', OLD."slug", \'retired_at\', OLD."retired_at", \'claim_id\', OLD."claim_id")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'slug\', NEW."slug", \'retired_at\', NEW."retired_at", \'claim_id\', NEW."claim_id")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."claim_id", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."retired_at", NEW."slug"); RETURN NULL;',
                    hash="75f65725b23a7266343ff1e970642483d2b95e02",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_cc344",
                    table="claims_oldclaimslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldclaimslug",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_oldclaimslugauditevent" ("pgh_changes", "claim_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'slug\', OLD."slug", \'retired_at\', OLD."retired_at", \'claim_id\', OLD."claim_id")) AS o(key, value) WHERE o.value <> \'null\'), OLD."claim_id", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."retired_at", OLD."slug"); RETURN NULL;',
                    hash="f3c543dba52d813fb6daec50e6f37156d6777bb1",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_aec09",
                    table="claims_oldclaimslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldspeakerslug",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_oldspeakerslugauditevent" ("pgh_changes", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug", "speaker_id") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'slug\', NEW."slug", \'retired_at\', NEW."retired_at", \'speaker_id\', NEW."speaker_id")) AS n(key, value) WHERE n.value <> \'null\'), NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."retired_at", NEW."slug", NEW."speaker_id"); RETURN NULL;',
                    hash="af7894c137587da0fc63534d6917188b46f436db",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_d112d",
                    table="claims_oldspeakerslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldspeakerslug",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_oldspeakerslugauditevent" ("pgh_changes", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug", "speaker_id") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'slug\', OLD."slug", \'retired_at\', OLD."retired_at", \'speaker_id\', OLD."speaker_id")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'slug\', NEW."slug", \'retired_at\', NEW."retired_at", \'speaker_id\', NEW."speaker_id")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."retired_at", NEW."slug", NEW."speaker_id"); RETURN NULL;',
                    hash="af182c7a4fd61be47a88d9d871083861f82acad7",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_0df01",
                    table="claims_oldspeakerslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldspeakerslug",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_oldspeakerslugauditevent" ("pgh_changes", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired_at", "slug", "speaker_id") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'slug\', OLD."slug", \'retired_at\', OLD."retired_at", \'speaker_id\', OLD."speaker_id")) AS o(key, value) WHERE o.value <> \'null\'), OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."retired_at", OLD."slug", OLD."speaker_id"); RETURN NULL;',
                    hash="65273690e7f2cbdbd369579a26bbac55f62fd658",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_37662",
                    table="claims_oldspeakerslug",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="source",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'title\', NEW."title", \'publisher\', NEW."publisher", \'authors\', NEW."authors", \'url\', NEW."url", \'published_on\', NEW."published_on")) AS n(key, value) WHERE n.value <> \'null\'), NEW."authors", NEW."created_at", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."published_on", NEW."publisher", NEW."title", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="851885a5069125c89be817711a7c266bc924961f",
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
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'title\', OLD."title", \'publisher\', OLD."publisher", \'authors\', OLD."authors", \'url\', OLD."url", \'published_on\', OLD."published_on")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'title\', NEW."title", \'publisher\', NEW."publisher", \'authors\', NEW."authors", \'url\', NEW."url", \'published_on\', NEW."published_on")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."authors", NEW."created_at", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."published_on", NEW."publisher", NEW."title", NEW."updated_at", NEW."url", NEW."version"); RETURN NULL;',
                    hash="6d91fa94b69914f78eadf7da0f8fec4ca70b7c72",
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
                    func='INSERT INTO "claims_sourceauditevent" ("pgh_changes", "authors", "created_at", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_on", "publisher", "title", "updated_at", "url", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'title\', OLD."title", \'publisher\', OLD."publisher", \'authors\', OLD."authors", \'url\', OLD."url", \'published_on\', OLD."published_on")) AS o(key, value) WHERE o.value <> \'null\'), OLD."authors", OLD."created_at", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."published_on", OLD."publisher", OLD."title", OLD."updated_at", OLD."url", OLD."version"); RETURN NULL;',
                    hash="0c3e22eb62929af5d1273678fdf6ff5970aeffe0",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_249e2",
                    table="claims_source",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sourcesnapshot",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_sourcesnapshotauditevent" ("pgh_changes", "captured_at", "created_at", "created_by_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "sha256", "source_id", "text") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'source_id\', NEW."source_id", \'text\', NEW."text", \'sha256\', NEW."sha256", \'captured_at\', NEW."captured_at", \'created_at\', NEW."created_at", \'created_by_id\', NEW."created_by_id")) AS n(key, value) WHERE n.value <> \'null\'), NEW."captured_at", NEW."created_at", NEW."created_by_id", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."sha256", NEW."source_id", NEW."text"); RETURN NULL;',
                    hash="24f4e5efb5a0cc8401d51e00057e33a0c628c385",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_b13c9",
                    table="claims_sourcesnapshot",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sourcesnapshot",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "claims_sourcesnapshotauditevent" ("pgh_changes", "captured_at", "created_at", "created_by_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "sha256", "source_id", "text") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'source_id\', OLD."source_id", \'text\', OLD."text", \'sha256\', OLD."sha256", \'captured_at\', OLD."captured_at", \'created_at\', OLD."created_at", \'created_by_id\', OLD."created_by_id")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'source_id\', NEW."source_id", \'text\', NEW."text", \'sha256\', NEW."sha256", \'captured_at\', NEW."captured_at", \'created_at\', NEW."created_at", \'created_by_id\', NEW."created_by_id")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."captured_at", NEW."created_at", NEW."created_by_id", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."sha256", NEW."source_id", NEW."text"); RETURN NULL;',
                    hash="c5165d33538bdd7530913af957abcfa581470815",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_44eb7",
                    table="claims_sourcesnapshot",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sourcesnapshot",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_sourcesnapshotauditevent" ("pgh_changes", "captured_at", "created_at", "created_by_id", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "sha256", "source_id", "text") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'source_id\', OLD."source_id", \'text\', OLD."text", \'sha256\', OLD."sha256", \'captured_at\', OLD."captured_at", \'created_at\', OLD."created_at", \'created_by_id\', OLD."created_by_id")) AS o(key, value) WHERE o.value <> \'null\'), OLD."captured_at", OLD."created_at", OLD."created_by_id", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."sha256", OLD."source_id", OLD."text"); RETURN NULL;',
                    hash="60ec38ce0b28f08e283d52de40ebbb8f6c399c32",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_bb9b1",
                    table="claims_sourcesnapshot",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="verdict",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "correction_note", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(n.key, jsonb_build_array(NULL, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'status_id\', NEW."status_id", \'scale\', NEW."scale", \'summary\', NEW."summary", \'explanation\', NEW."explanation", \'published_at\', NEW."published_at", \'created_by_id\', NEW."created_by_id", \'created_at\', NEW."created_at", \'correction_note\', NEW."correction_note")) AS n(key, value) WHERE n.value <> \'null\'), NEW."claim_id", NEW."correction_note", NEW."created_at", NEW."created_by_id", NEW."explanation", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."published_at", NEW."scale", NEW."status_id", NEW."summary", NEW."version"); RETURN NULL;',
                    hash="3f643e013b5df1def9f7a04664c9af317b01f486",
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
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "correction_note", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'status_id\', OLD."status_id", \'scale\', OLD."scale", \'summary\', OLD."summary", \'explanation\', OLD."explanation", \'published_at\', OLD."published_at", \'created_by_id\', OLD."created_by_id", \'created_at\', OLD."created_at", \'correction_note\', OLD."correction_note")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'claim_id\', NEW."claim_id", \'status_id\', NEW."status_id", \'scale\', NEW."scale", \'summary\', NEW."summary", \'explanation\', NEW."explanation", \'published_at\', NEW."published_at", \'created_by_id\', NEW."created_by_id", \'created_at\', NEW."created_at", \'correction_note\', NEW."correction_note")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."claim_id", NEW."correction_note", NEW."created_at", NEW."created_by_id", NEW."explanation", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."published_at", NEW."scale", NEW."status_id", NEW."summary", NEW."version"); RETURN NULL;',
                    hash="ba4e6534808c5856174ba65eaf7d6f01803e86f0",
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
                    func='INSERT INTO "claims_verdictauditevent" ("pgh_changes", "claim_id", "correction_note", "created_at", "created_by_id", "explanation", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "published_at", "scale", "status_id", "summary", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, NULL)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'claim_id\', OLD."claim_id", \'status_id\', OLD."status_id", \'scale\', OLD."scale", \'summary\', OLD."summary", \'explanation\', OLD."explanation", \'published_at\', OLD."published_at", \'created_by_id\', OLD."created_by_id", \'created_at\', OLD."created_at", \'correction_note\', OLD."correction_note")) AS o(key, value) WHERE o.value <> \'null\'), OLD."claim_id", OLD."correction_note", OLD."created_at", OLD."created_by_id", OLD."explanation", OLD."id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."published_at", OLD."scale", OLD."status_id", OLD."summary", OLD."version"); RETURN NULL;',
                    hash="38faf4455091da6ba42b9b8210c3ddc2cb69ebc6",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_83861",
                    table="claims_verdict",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="claim",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.claim",
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="from_status",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.status",
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="pgh_context",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit_events",
                to="claims.correction",
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="published_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="to_status",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.status",
            ),
        ),
        migrations.AddField(
            model_name="correctionauditevent",
            name="verdict",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="For a changed rating: the verdict that changed it.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.verdict",
            ),
        ),
        migrations.AddField(
            model_name="oldclaimslugauditevent",
            name="claim",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.claim",
            ),
        ),
        migrations.AddField(
            model_name="oldclaimslugauditevent",
            name="pgh_context",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        migrations.AddField(
            model_name="oldclaimslugauditevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit_events",
                to="claims.oldclaimslug",
            ),
        ),
        migrations.AddField(
            model_name="oldspeakerslugauditevent",
            name="pgh_context",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        migrations.AddField(
            model_name="oldspeakerslugauditevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit_events",
                to="claims.oldspeakerslug",
            ),
        ),
        migrations.AddField(
            model_name="oldspeakerslugauditevent",
            name="speaker",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.speaker",
            ),
        ),
        migrations.AddField(
            model_name="sourcesnapshotauditevent",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="sourcesnapshotauditevent",
            name="pgh_context",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        migrations.AddField(
            model_name="sourcesnapshotauditevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit_events",
                to="claims.sourcesnapshot",
            ),
        ),
        migrations.AddField(
            model_name="sourcesnapshotauditevent",
            name="source",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="claims.source",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="correctionauditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="327755d54b5c6aff7f84c0fa4c19be425574d4cc",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_947a6",
                    table="claims_correctionauditevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldclaimslugauditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="676192753b39d0005089bebd1324bb69f6387c68",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_4e58d",
                    table="claims_oldclaimslugauditevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oldspeakerslugauditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="1e57c2fc1b27bf0bd46e88197daa93455d9a3338",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_f9acd",
                    table="claims_oldspeakerslugauditevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sourcesnapshotauditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="21588f1bbb7547a5b624ae9cf6409ca2605698a8",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_db6df",
                    table="claims_sourcesnapshotauditevent",
                    when="BEFORE",
                ),
            ),
        ),
    ]
