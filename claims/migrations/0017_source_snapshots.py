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
    ]
