"""The evidence of a published verdict is part of it, so it is never rewritten either.

A verdict counts as published here once its Change exists: record_verdict and loaddata both write the
evidence before the Change, and publish_verdict appends the Change after a draft's evidence is in place.
Writing the same values again is allowed, so loading the default data twice changes nothing.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION claims_evidence_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER claims_evidence_keep_published BEFORE INSERT OR UPDATE OR DELETE ON claims_evidence
    FOR EACH ROW EXECUTE FUNCTION claims_evidence_keep_published();
"""

BACKWARD = r"""
DROP TRIGGER claims_evidence_keep_published ON claims_evidence;
DROP FUNCTION claims_evidence_keep_published();
"""


class Migration(migrations.Migration):
    dependencies = [("claims", "0003_editors_group")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
