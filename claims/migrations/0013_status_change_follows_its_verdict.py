"""A StatusChange must say what its verdict did: the database checks it, as it checks the feed's order.

0007 held the feed's order (ids and times only going up); the rest of a StatusChange was only as right as
the code that wrote it. Now an insert is refused unless its verdict is published, on the same claim, at the
same time and to the same status, and unless its from_status is the claim's previous change's to_status (the
claim's first change comes from no status): the feed's chain of statuses is unbroken by construction.
"""

from django.db import migrations

CHECKED = r"""
CREATE OR REPLACE FUNCTION claims_change_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_at timestamptz;
    previous_status bigint;
BEGIN
    -- claims.services.CHANGE_FEED_LOCK; re-entrant, so the service having taken it already costs nothing.
    PERFORM pg_advisory_xact_lock(7146532901);
    NEW.id := nextval(pg_get_serial_sequence('claims_change', 'id'));
    SELECT published_at INTO latest_at FROM claims_change ORDER BY id DESC LIMIT 1;
    IF NEW.published_at < latest_at THEN
        RAISE EXCEPTION 'A status change cannot be published before the latest one (%): the changes feed '
            'runs forward in time.', latest_at USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM claims_verdict WHERE id = NEW.verdict_id AND claim_id = NEW.claim_id
                   AND status_id = NEW.to_status_id AND published_at = NEW.published_at) THEN
        RAISE EXCEPTION 'A status change records its verdict''s publication: the verdict must be published, '
            'on the same claim, at the same time, to the same status.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT to_status_id INTO previous_status FROM claims_change
        WHERE claim_id = NEW.claim_id ORDER BY id DESC LIMIT 1;
    IF NEW.from_status_id IS DISTINCT FROM previous_status THEN
        RAISE EXCEPTION 'A status change starts from the status its claim''s previous change ended at.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""

ORDER_ONLY = r"""
CREATE OR REPLACE FUNCTION claims_change_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_at timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(7146532901);
    NEW.id := nextval(pg_get_serial_sequence('claims_change', 'id'));
    SELECT published_at INTO latest_at FROM claims_change ORDER BY id DESC LIMIT 1;
    IF NEW.published_at < latest_at THEN
        RAISE EXCEPTION 'A status change cannot be published before the latest one (%): the changes feed '
            'runs forward in time.', latest_at USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("claims", "0012_evidence_locks_its_verdict")]

    operations = [migrations.RunSQL(CHECKED, ORDER_ONLY)]
