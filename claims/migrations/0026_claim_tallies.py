"""The claim tallies (StatusTally, SpeakerTally): how many published claims have each status, overall and per
speaker, kept by the database at every write to claims_claim, so the home page, a speaker's page and the
API's speakers read a row or so per status instead of counting a million claims (~100 ms a page before).

- claims_claim_tally_insert / _update / _delete: statement-level AFTER triggers with transition tables. Each
  statement adds, per (speaker, status) it changed, one row of its net change (+n published, -n no longer;
  an update that moves nothing adds nothing) to claims_speaker_tally, and per status one to
  claims_status_tally. Insert-only: concurrent publications write different rows and never wait for each
  other, nor deadlock; a statement of a million rows (generate_claims) adds a row per key, not per claim.
  Every writer is counted, raw SQL included; a TRUNCATE of the claims empties the tallies.
- claims_claim_tally_add folds, after adding, the keys its statement touched into one row each, when the
  fold lock (claims.models.TALLY_FOLD_LOCK) is free and the transaction is READ COMMITTED (a REPEATABLE READ
  writer's delete could meet a fold committed after its snapshot and fail): pg_try_advisory_xact_lock
  never waits, so a publication never queues behind another; one whose fold is skipped leaves its deltas
  to the next writer of the same key or to claims.tasks.fold_tallies. The reads stay small whether the
  worker runs or not. Why folding cannot double count: claims.models.fold_tallies.
- No site clock trigger on the tallies (migration 0024): they move only with claims_claim, whose triggers
  move the clock; a fold changes no sum. Not in the audit history: derived data.
- The backfill counts the claims once, after the triggers exist: creating them locked claims_claim
  against writes until this migration commits, so no write falls between the count and the triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

TALLY = r"""
-- Adds a statement's net changes, per (speaker, status), to both tallies; then folds those keys if the fold
-- lock is free (7146532926: claims.models.TALLY_FOLD_LOCK).
CREATE FUNCTION claims_claim_tally_add(speakers bigint[], statuses bigint[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(deltas), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO claims_speaker_tally (speaker_id, status_id, delta)
    SELECT * FROM unnest(speakers, statuses, deltas);
    INSERT INTO claims_status_tally (status_id, delta)
    SELECT status_id, sum(delta) FROM unnest(statuses, deltas) AS d(status_id, delta)
    GROUP BY status_id HAVING sum(delta) <> 0;
    IF current_setting('transaction_isolation') = 'read committed' AND pg_try_advisory_xact_lock(7146532926) THEN
        WITH gone AS (
            DELETE FROM claims_speaker_tally t USING unnest(speakers, statuses) AS k(speaker_id, status_id)
            WHERE t.speaker_id = k.speaker_id AND t.status_id = k.status_id
            RETURNING t.speaker_id, t.status_id, t.delta
        )
        INSERT INTO claims_speaker_tally (speaker_id, status_id, delta)
        SELECT speaker_id, status_id, sum(delta) FROM gone
        GROUP BY speaker_id, status_id HAVING sum(delta) <> 0;
        WITH gone AS (
            DELETE FROM claims_status_tally WHERE status_id = ANY (statuses) RETURNING status_id, delta
        )
        INSERT INTO claims_status_tally (status_id, delta)
        SELECT status_id, sum(delta) FROM gone GROUP BY status_id HAVING sum(delta) <> 0;
    END IF;
END $$;

-- One function for the three triggers: each names only the transition tables its operation has.
CREATE FUNCTION claims_claim_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    speakers bigint[];
    statuses bigint[];
    deltas integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(speaker_id), array_agg(status_id), array_agg(n) INTO speakers, statuses, deltas
        FROM (SELECT speaker_id, status_id, count(*) AS n FROM new_rows
              WHERE status_id IS NOT NULL GROUP BY speaker_id, status_id) AS changed;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(speaker_id), array_agg(status_id), array_agg(n) INTO speakers, statuses, deltas
        FROM (SELECT speaker_id, status_id, -count(*) AS n FROM old_rows
              WHERE status_id IS NOT NULL GROUP BY speaker_id, status_id) AS changed;
    ELSE
        -- Old rows out, new rows in: what an update did not move (its status, its speaker) cancels out.
        SELECT array_agg(speaker_id), array_agg(status_id), array_agg(n) INTO speakers, statuses, deltas
        FROM (SELECT speaker_id, status_id, sum(d) AS n
              FROM (SELECT speaker_id, status_id, -1 AS d FROM old_rows WHERE status_id IS NOT NULL
                    UNION ALL
                    SELECT speaker_id, status_id, 1 FROM new_rows WHERE status_id IS NOT NULL) AS moved
              GROUP BY speaker_id, status_id HAVING sum(d) <> 0) AS changed;
    END IF;
    PERFORM claims_claim_tally_add(speakers, statuses, deltas);
    RETURN NULL;
END $$;

CREATE TRIGGER claims_claim_tally_insert AFTER INSERT ON claims_claim
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_tally();
-- A column list (UPDATE OF status_id, speaker_id) is not allowed with transition tables: every update
-- statement fires it, and adds nothing unless a status or speaker moved.
CREATE TRIGGER claims_claim_tally_update AFTER UPDATE ON claims_claim
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_tally();
CREATE TRIGGER claims_claim_tally_delete AFTER DELETE ON claims_claim
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_tally();

CREATE FUNCTION claims_claim_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM claims_status_tally;
    DELETE FROM claims_speaker_tally;
    RETURN NULL;
END $$;
CREATE TRIGGER claims_claim_tally_truncate AFTER TRUNCATE ON claims_claim
    FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_tally_truncate();

-- The claims already there, counted once (claims_claim is locked against writes until the commit).
INSERT INTO claims_speaker_tally (speaker_id, status_id, delta)
SELECT speaker_id, status_id, count(*) FROM claims_claim WHERE status_id IS NOT NULL
GROUP BY speaker_id, status_id;
INSERT INTO claims_status_tally (status_id, delta)
SELECT status_id, sum(delta) FROM claims_speaker_tally GROUP BY status_id;
"""

TALLY_BACKWARD = r"""
DROP TRIGGER claims_claim_tally_truncate ON claims_claim;
DROP TRIGGER claims_claim_tally_delete ON claims_claim;
DROP TRIGGER claims_claim_tally_update ON claims_claim;
DROP TRIGGER claims_claim_tally_insert ON claims_claim;
DROP FUNCTION claims_claim_tally_truncate();
DROP FUNCTION claims_claim_tally();
DROP FUNCTION claims_claim_tally_add(bigint[], bigint[], integer[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0025_webhook_owner"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatusTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("delta", models.IntegerField()),
                (
                    "status",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="claims.status",
                    ),
                ),
            ],
            options={
                "db_table": "claims_status_tally",
            },
        ),
        migrations.CreateModel(
            name="SpeakerTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("delta", models.IntegerField()),
                (
                    "speaker",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="claims.speaker",
                    ),
                ),
                (
                    "status",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="claims.status",
                    ),
                ),
            ],
            options={
                "db_table": "claims_speaker_tally",
                "indexes": [models.Index(fields=["speaker", "status"], name="claims_speaker_tally_idx")],
            },
        ),
        migrations.RunSQL(TALLY, TALLY_BACKWARD),
    ]
