"""Rules the database holds that Django cannot declare.

- Composite foreign keys (verdict.claim_id, verdict.scale) -> claim(id, scale) and
  (verdict.status_id, verdict.scale) -> status(id, scale): a verdict's status is on its claim's scale.
  The same for the claim's current status. A claim with verdicts cannot change to a kind of the other scale.
- claim.speaker_name is copied from the speaker on every write of the claim, and follows a speaker's
  rename, so the stored search column covers the speaker's name (a generated column sees one row only).
- Published verdicts and changes are never rewritten or deleted: a correction is a new verdict.
  Writing the same values again is allowed, so loading the default data twice changes nothing.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE claims_verdict
    ADD CONSTRAINT claims_verdict_claim_scale_fk FOREIGN KEY (claim_id, scale)
        REFERENCES claims_claim (id, scale),
    ADD CONSTRAINT claims_verdict_status_scale_fk FOREIGN KEY (status_id, scale)
        REFERENCES claims_status (id, scale);

ALTER TABLE claims_claim
    ADD CONSTRAINT claims_claim_status_scale_fk FOREIGN KEY (status_id, scale)
        REFERENCES claims_status (id, scale);

CREATE FUNCTION claims_claim_copy_speaker_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT name INTO NEW.speaker_name FROM claims_speaker WHERE id = NEW.speaker_id;
    NEW.speaker_name := COALESCE(NEW.speaker_name, '');
    RETURN NEW;
END $$;
CREATE TRIGGER claims_claim_copy_speaker_name BEFORE INSERT OR UPDATE ON claims_claim
    FOR EACH ROW EXECUTE FUNCTION claims_claim_copy_speaker_name();

CREATE FUNCTION claims_speaker_rename_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE claims_claim SET speaker_name = NEW.name WHERE speaker_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER claims_speaker_rename_claims AFTER UPDATE OF name ON claims_speaker
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION claims_speaker_rename_claims();

CREATE FUNCTION claims_verdict_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER claims_verdict_keep_published BEFORE UPDATE OR DELETE ON claims_verdict
    FOR EACH ROW WHEN (OLD.published_at IS NOT NULL) EXECUTE FUNCTION claims_verdict_keep_published();

CREATE FUNCTION claims_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (OLD.*) IS DISTINCT FROM (NEW.*) THEN
        RAISE EXCEPTION 'Status changes are append-only.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_change_append_only BEFORE UPDATE OR DELETE ON claims_change
    FOR EACH ROW EXECUTE FUNCTION claims_change_append_only();
"""

BACKWARD = r"""
DROP TRIGGER claims_change_append_only ON claims_change;
DROP FUNCTION claims_change_append_only();
DROP TRIGGER claims_verdict_keep_published ON claims_verdict;
DROP FUNCTION claims_verdict_keep_published();
DROP TRIGGER claims_speaker_rename_claims ON claims_speaker;
DROP FUNCTION claims_speaker_rename_claims();
DROP TRIGGER claims_claim_copy_speaker_name ON claims_claim;
DROP FUNCTION claims_claim_copy_speaker_name();
ALTER TABLE claims_claim DROP CONSTRAINT claims_claim_status_scale_fk;
ALTER TABLE claims_verdict DROP CONSTRAINT claims_verdict_status_scale_fk,
    DROP CONSTRAINT claims_verdict_claim_scale_fk;
"""


class Migration(migrations.Migration):
    dependencies = [("claims", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
