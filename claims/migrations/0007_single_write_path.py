"""The database refuses any writer but claims.services of a claim's status, and keeps the feed in order.

- A claim's status and status_changed_at may only become its latest published verdict's status and
  publication time (the invariant itself, derived from the verdicts, so there is no switch anyone could
  set to get round it). A new claim has no verdicts, so it is inserted unrated. A stale copy of a claim
  saved after a publication would write the old status back: refused. The other way round, a verdict
  published without its claim's status following, or without its StatusChange, is refused at commit.
- StatusChange (table claims_change) inserts take the feed's advisory lock themselves and draw their id
  only once they hold it (the column has no default, so no id is drawn before the lock or thrown away): ids
  are consecutive and commit in id order whoever inserts. An insert is refused when published before the
  latest change (the feed's time never goes backwards as ids go up), when it does not record its verdict's
  publication (a published verdict of the same claim, at the same time, to the same status), or when its
  from_status is not the claim's previous change's to_status: the chain of statuses is unbroken.
- Evidence is fixed once its verdict is published. An evidence write locks every verdict it concerns (FOR
  SHARE, published or not, in id order) and reads it as committed once the lock is granted, so evidence
  written while its draft is being published waits for the publication and is then refused.
- "Published" means one thing everywhere: a verdict with a publication time (0004 went by the StatusChange
  row instead).
- No trigger allows "writing the same values again" any more: only loading the default data with
  loaddata needed that, and the default data now go through claims.services.
"""

from django.db import migrations

FORWARD = r"""
-- A claim's latest published verdict: the one rule both sides below check against.
CREATE FUNCTION claims_latest_published_verdict(claim bigint, OUT status_id bigint, OUT published_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT v.status_id, v.published_at FROM claims_verdict v
    WHERE v.claim_id = claim AND v.published_at IS NOT NULL
    ORDER BY v.published_at DESC, v.id DESC LIMIT 1
$$;

CREATE FUNCTION claims_claim_status_is_latest_verdicts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_status bigint;
    latest_at timestamptz;
BEGIN
    SELECT * INTO latest_status, latest_at FROM claims_latest_published_verdict(NEW.id);
    IF (NEW.status_id, NEW.status_changed_at) IS DISTINCT FROM (latest_status, latest_at) THEN
        RAISE EXCEPTION 'A claim''s status is its latest published verdict''s; only claims.services '
            'changes it, by publishing a verdict.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_claim_status_on_insert BEFORE INSERT ON claims_claim
    FOR EACH ROW WHEN (NEW.status_id IS NOT NULL OR NEW.status_changed_at IS NOT NULL)
    EXECUTE FUNCTION claims_claim_status_is_latest_verdicts();
CREATE TRIGGER claims_claim_status_on_update BEFORE UPDATE OF status_id, status_changed_at ON claims_claim
    FOR EACH ROW WHEN ((OLD.status_id, OLD.status_changed_at) IS DISTINCT FROM (NEW.status_id, NEW.status_changed_at))
    EXECUTE FUNCTION claims_claim_status_is_latest_verdicts();

-- The other side of the same rule, checked at commit (when the service has written all three rows): a
-- verdict published outside claims.services, leaving its claim's status behind or no StatusChange
-- recorded, is refused.
CREATE FUNCTION claims_verdict_published_is_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_status bigint;
    latest_at timestamptz;
BEGIN
    SELECT * INTO latest_status, latest_at FROM claims_latest_published_verdict(NEW.claim_id);
    IF NOT EXISTS (SELECT 1 FROM claims_claim WHERE id = NEW.claim_id
                   AND (status_id, status_changed_at) IS NOT DISTINCT FROM (latest_status, latest_at))
        OR NOT EXISTS (SELECT 1 FROM claims_change WHERE verdict_id = NEW.id)
    THEN
        RAISE EXCEPTION 'A verdict is published by claims.services, which makes it its claim''s status and '
            'records the StatusChange.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER claims_verdict_published_is_recorded
    AFTER INSERT OR UPDATE OF published_at ON claims_verdict DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.published_at IS NOT NULL)
    EXECUTE FUNCTION claims_verdict_published_is_recorded();

-- The feed's ids are drawn by the insert trigger alone, under the feed's lock: no column default.
ALTER TABLE claims_change ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE claims_change_id_seq AS bigint OWNED BY claims_change.id;
SELECT setval('claims_change_id_seq', COALESCE((SELECT max(id) FROM claims_change), 0) + 1, false);

CREATE FUNCTION claims_change_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER claims_change_in_order BEFORE INSERT ON claims_change
    FOR EACH ROW EXECUTE FUNCTION claims_change_in_order();

CREATE OR REPLACE FUNCTION claims_verdict_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'A published verdict cannot be deleted; record a new verdict that corrects it.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'A published verdict cannot be changed; record a new verdict that corrects it.'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE OR REPLACE FUNCTION claims_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Status changes are append-only.' USING ERRCODE = 'integrity_constraint_violation';
END $$;

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
    IF TG_OP = 'UPDATE' AND (OLD.*) IS NOT DISTINCT FROM (NEW.*) THEN
        RETURN NEW;
    END IF;
    IF (TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM claims_change WHERE verdict_id = OLD.verdict_id))
        OR (TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM claims_change WHERE verdict_id = NEW.verdict_id))
    THEN
        RAISE EXCEPTION 'The evidence of a published verdict cannot be changed; record a new verdict.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION claims_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (OLD.*) IS DISTINCT FROM (NEW.*) THEN
        RAISE EXCEPTION 'Status changes are append-only.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION claims_verdict_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'A published verdict cannot be deleted; record a new verdict that corrects it.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (OLD.claim_id, OLD.status_id, OLD.scale, OLD.summary, OLD.explanation, OLD.published_at)
        IS DISTINCT FROM (NEW.claim_id, NEW.status_id, NEW.scale, NEW.summary, NEW.explanation, NEW.published_at)
    THEN
        RAISE EXCEPTION 'A published verdict cannot be changed; record a new verdict that corrects it.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER claims_verdict_published_is_recorded ON claims_verdict;
DROP FUNCTION claims_verdict_published_is_recorded();
DROP TRIGGER claims_change_in_order ON claims_change;
DROP FUNCTION claims_change_in_order();
DROP TRIGGER claims_claim_status_on_update ON claims_claim;
DROP TRIGGER claims_claim_status_on_insert ON claims_claim;
DROP FUNCTION claims_claim_status_is_latest_verdicts();
DROP FUNCTION claims_latest_published_verdict(bigint);
DROP SEQUENCE claims_change_id_seq;
ALTER TABLE claims_change ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
SELECT setval(pg_get_serial_sequence('claims_change', 'id'),
              COALESCE((SELECT max(id) FROM claims_change), 0) + 1, false);
"""


class Migration(migrations.Migration):
    dependencies = [("claims", "0006_verdict_sources_removed")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
