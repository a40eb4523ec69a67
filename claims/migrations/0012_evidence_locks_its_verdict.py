"""Evidence written while its draft is being published waits for the publication, and is then refused.

0007's check read the verdict with `WHERE published_at IS NOT NULL FOR SHARE`: a draft's row does not match
that condition in the writer's snapshot, so it was never locked and nothing waited. Evidence edited or
removed meanwhile went through at once, and evidence added waited only for the foreign key's check, then
went through: the published verdict's evidence changed after its publication. The verdict row is now
locked FOR SHARE whatever its state (a publication holds it FOR UPDATE, or updates it) and its publication
time read from the row as committed once the lock is granted.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION claims_evidence_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    verdict_ids bigint[];
    verdict_published timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        verdict_ids := ARRAY[NEW.verdict_id];
    ELSIF TG_OP = 'DELETE' THEN
        verdict_ids := ARRAY[OLD.verdict_id];
    ELSE
        verdict_ids := ARRAY[OLD.verdict_id, NEW.verdict_id];
    END IF;
    -- Every verdict concerned is locked (in id order), published or not, and read as committed once the
    -- lock is granted: a publication in progress holds the row, so this waits for it, then sees it.
    FOR verdict_published IN
        SELECT published_at FROM claims_verdict WHERE id = ANY (verdict_ids) ORDER BY id FOR SHARE
    LOOP
        IF verdict_published IS NOT NULL THEN
            RAISE EXCEPTION 'The evidence of a published verdict cannot be changed; record a new verdict.'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION claims_evidence_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM claims_verdict WHERE id = OLD.verdict_id AND published_at IS NOT NULL FOR SHARE))
        OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM claims_verdict WHERE id = NEW.verdict_id AND published_at IS NOT NULL FOR SHARE))
    THEN
        RAISE EXCEPTION 'The evidence of a published verdict cannot be changed; record a new verdict.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("claims", "0011_change_ids_drawn_under_the_lock")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
