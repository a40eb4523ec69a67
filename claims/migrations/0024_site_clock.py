"""The site clock: one row that moves, at commit, with every change to what anonymous readers can see.

- claims_site_clock (model SiteClock) holds a version and the time of the latest such commit; every public
  page and API response takes its ETag and Last-Modified from it (factcheck.caching), one indexed read.
- claims_site_clock_bump() is a trigger function any table attaches to with one statement:
      CREATE CONSTRAINT TRIGGER <table>_site_clock AFTER INSERT OR UPDATE OR DELETE ON <table>
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION claims_site_clock_bump();
  Deferred, it runs at commit: the first event of a transaction takes the changes feed's advisory lock
  (claims.services.CHANGE_FEED_LOCK), bumps the row and marks the transaction (a transaction-local
  setting); the rest return at once, so a bulk write of a million rows costs one bump. The lock is held
  to the commit and the time is read after it, so version and changed_at follow commit order.
- Attached to claims (published ones: a status, before or after the write), verdicts (published ones),
  speakers, sources, source snapshots, statuses, status changes, corrections and old slugs. Not to
  evidence: evidence becomes public with its verdict's publication (which bumps) and is refused once its
  verdict is published (migration 0007), so no evidence write on its own changes what the public sees.
- A speaker's rename (name, slug or role) and a source's edit (title, publisher, url, date: what a claim
  shows of it) set the affected claims' updated_at, so `updated_since` finds them. The claims' version
  does not move (updated_at is not an edit, 0015), and the audit records no event for a change of
  updated_at alone (claims.audit, not_an_edit_alone): the rename is recorded once, on its speaker or source.
"""

import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

# (table, the column whose value marks a public row, or None when every row is public)
PUBLIC_TABLES = [
    ("claims_claim", "status_id"),
    ("claims_verdict", "published_at"),
    ("claims_speaker", None),
    ("claims_source", None),
    ("claims_sourcesnapshot", None),
    ("claims_status", None),
    ("claims_change", None),
    ("claims_correction", None),
    ("claims_oldclaimslug", None),
    ("claims_oldspeakerslug", None),
    # The events feed and the Atom feeds (migration 0019).
    ("claims_event", None),
]

CLOCK = r"""
INSERT INTO claims_site_clock (id, version, changed_at) VALUES (1, 1, clock_timestamp());

CREATE FUNCTION claims_site_clock_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the first deferred event bumps, the others see the mark and return.
    IF current_setting('factcheck.site_clock_bumped', true) = pg_current_xact_id()::text THEN
        RETURN NULL;
    END IF;
    -- claims.services.CHANGE_FEED_LOCK, held to the commit: bumps are in commit order, and the time below
    -- is read once the previous holder has committed.
    PERFORM pg_advisory_xact_lock(7146532901);
    -- An upsert: a flushed or restored table without the row gets it back.
    INSERT INTO claims_site_clock AS clock (id, version, changed_at) VALUES (1, 1, clock_timestamp())
    ON CONFLICT (id) DO UPDATE
        SET version = clock.version + 1, changed_at = greatest(clock.changed_at, clock_timestamp());
    PERFORM set_config('factcheck.site_clock_bumped', pg_current_xact_id()::text, true);
    RETURN NULL;
END $$;
"""


def _attach(table: str, public_column: str | None) -> migrations.RunSQL:
    """The site clock's trigger(s) on `table`: one for every write, or, for a table whose rows are public
    only when `public_column` is set, one per operation with that condition (an INSERT's WHEN cannot
    name OLD, a DELETE's cannot name NEW)."""
    create = (
        "CREATE CONSTRAINT TRIGGER {name} AFTER {operation} ON {table} DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW {when} EXECUTE FUNCTION claims_site_clock_bump();"
    )
    if public_column is None:
        triggers = [(f"{table}_site_clock", "INSERT OR UPDATE OR DELETE", "")]
    else:
        column = public_column
        triggers = [
            (f"{table}_site_clock_insert", "INSERT", f"WHEN (NEW.{column} IS NOT NULL)"),
            (
                f"{table}_site_clock_update",
                "UPDATE",
                f"WHEN (OLD.{column} IS NOT NULL OR NEW.{column} IS NOT NULL)",
            ),
            (f"{table}_site_clock_delete", "DELETE", f"WHEN (OLD.{column} IS NOT NULL)"),
        ]
    return migrations.RunSQL(
        sql="\n".join(
            create.format(name=name, operation=operation, table=table, when=when)
            for name, operation, when in triggers
        ),
        reverse_sql="\n".join(f"DROP TRIGGER {name} ON {table};" for name, _, _ in triggers),
    )


# The conditions are flat ORs, not a row comparison: PostgreSQL stores a row comparison as nested ORs, which
# a dump and restore would give back re-parenthesised (tests/test_backups.py compares the definitions).
RENAMES = r"""
CREATE OR REPLACE FUNCTION claims_speaker_rename_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- What a claim shows of its speaker changed: the claims are updated (updated_since finds them).
    UPDATE claims_claim SET speaker_name = NEW.name, updated_at = clock_timestamp() WHERE speaker_id = NEW.id;
    RETURN NULL;
END $$;
DROP TRIGGER claims_speaker_rename_claims ON claims_speaker;
CREATE TRIGGER claims_speaker_rename_claims AFTER UPDATE OF name, slug, role ON claims_speaker
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug
                       OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION claims_speaker_rename_claims();

CREATE FUNCTION claims_source_edit_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The published claims that show the source: as theirs, or in a published verdict's evidence.
    UPDATE claims_claim SET updated_at = clock_timestamp()
    WHERE status_id IS NOT NULL AND id IN (
        SELECT c.id FROM claims_claim c WHERE c.source_id = NEW.id
        UNION
        SELECT v.claim_id FROM claims_evidence e JOIN claims_verdict v ON v.id = e.verdict_id
        WHERE e.source_id = NEW.id AND v.published_at IS NOT NULL
    );
    RETURN NULL;
END $$;
CREATE TRIGGER claims_source_edit_claims AFTER UPDATE OF title, publisher, url, published_on ON claims_source
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.publisher IS DISTINCT FROM NEW.publisher
                       OR OLD.url IS DISTINCT FROM NEW.url OR OLD.published_on IS DISTINCT FROM NEW.published_on)
    EXECUTE FUNCTION claims_source_edit_claims();
"""

RENAMES_BACKWARD = r"""
DROP TRIGGER claims_source_edit_claims ON claims_source;
DROP FUNCTION claims_source_edit_claims();
DROP TRIGGER claims_speaker_rename_claims ON claims_speaker;
CREATE OR REPLACE FUNCTION claims_speaker_rename_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE claims_claim SET speaker_name = NEW.name WHERE speaker_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER claims_speaker_rename_claims AFTER UPDATE OF name ON claims_speaker
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION claims_speaker_rename_claims();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0023_api_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="SiteClock",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "version",
                    models.BigIntegerField(
                        default=1,
                        help_text="Goes up by one with each committed transaction that changed public data.",
                    ),
                ),
                (
                    "changed_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the latest such transaction committed (the database's clock).",
                    ),
                ),
            ],
            options={
                "verbose_name": "site clock",
                "db_table": "claims_site_clock",
                "ordering": ["id"],
            },
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="claim",
            name="update_update",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="claim",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."due_on" IS DISTINCT FROM (NEW."due_on") OR OLD."fidelity" IS DISTINCT FROM (NEW."fidelity") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."kind" IS DISTINCT FROM (NEW."kind") OR OLD."quote" IS DISTINCT FROM (NEW."quote") OR OLD."quote_end" IS DISTINCT FROM (NEW."quote_end") OR OLD."quote_snapshot_id" IS DISTINCT FROM (NEW."quote_snapshot_id") OR OLD."quote_start" IS DISTINCT FROM (NEW."quote_start") OR OLD."said_on" IS DISTINCT FROM (NEW."said_on") OR OLD."scale" IS DISTINCT FROM (NEW."scale") OR OLD."slug" IS DISTINCT FROM (NEW."slug") OR OLD."source_id" IS DISTINCT FROM (NEW."source_id") OR OLD."speaker_id" IS DISTINCT FROM (NEW."speaker_id") OR OLD."status_id" IS DISTINCT FROM (NEW."status_id") OR OLD."status_changed_at" IS DISTINCT FROM (NEW."status_changed_at") OR OLD."text" IS DISTINCT FROM (NEW."text") OR OLD."version" IS DISTINCT FROM (NEW."version"))',
                    func='INSERT INTO "claims_claimauditevent" ("pgh_changes", "created_at", "due_on", "fidelity", "id", "kind", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quote", "quote_end", "quote_snapshot_id", "quote_start", "said_on", "slug", "source_id", "speaker_id", "status_changed_at", "status_id", "text", "updated_at", "version") VALUES ((SELECT jsonb_object_agg(o.key, jsonb_build_array(o.value, n.value)) FROM jsonb_each(jsonb_build_object(\'id\', OLD."id", \'created_at\', OLD."created_at", \'updated_at\', OLD."updated_at", \'speaker_id\', OLD."speaker_id", \'source_id\', OLD."source_id", \'slug\', OLD."slug", \'text\', OLD."text", \'quote\', OLD."quote", \'fidelity\', OLD."fidelity", \'quote_snapshot_id\', OLD."quote_snapshot_id", \'quote_start\', OLD."quote_start", \'quote_end\', OLD."quote_end", \'kind\', OLD."kind", \'said_on\', OLD."said_on", \'due_on\', OLD."due_on", \'status_id\', OLD."status_id", \'status_changed_at\', OLD."status_changed_at")) AS o(key, value) JOIN jsonb_each(jsonb_build_object(\'id\', NEW."id", \'created_at\', NEW."created_at", \'updated_at\', NEW."updated_at", \'speaker_id\', NEW."speaker_id", \'source_id\', NEW."source_id", \'slug\', NEW."slug", \'text\', NEW."text", \'quote\', NEW."quote", \'fidelity\', NEW."fidelity", \'quote_snapshot_id\', NEW."quote_snapshot_id", \'quote_start\', NEW."quote_start", \'quote_end\', NEW."quote_end", \'kind\', NEW."kind", \'said_on\', NEW."said_on", \'due_on\', NEW."due_on", \'status_id\', NEW."status_id", \'status_changed_at\', NEW."status_changed_at")) AS n(key, value) ON n.key = o.key WHERE o.value <> n.value), NEW."created_at", NEW."due_on", NEW."fidelity", NEW."id", NEW."kind", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."quote", NEW."quote_end", NEW."quote_snapshot_id", NEW."quote_start", NEW."said_on", NEW."slug", NEW."source_id", NEW."speaker_id", NEW."status_changed_at", NEW."status_id", NEW."text", NEW."updated_at", NEW."version"); RETURN NULL;',
                    hash="4d5a63a6d769eb9f61048b08989a020736e09c59",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_fe4ba",
                    table="claims_claim",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="siteclock",
            constraint=models.CheckConstraint(
                condition=models.Q(("id", 1)),
                name="claims_site_clock_one_row",
                violation_error_message="One row only.",
            ),
        ),
        migrations.RunSQL(CLOCK, "DROP FUNCTION claims_site_clock_bump(); DELETE FROM claims_site_clock;"),
        *(_attach(table, column) for table, column in PUBLIC_TABLES),
        migrations.RunSQL(RENAMES, RENAMES_BACKWARD),
    ]
