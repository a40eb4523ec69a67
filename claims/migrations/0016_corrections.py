"""Corrections, not silent rewrites (issue 7).

- Correction (claims_correction): the public record of a change to a published claim, or of a changed rating.
  Its ids come from the changes feed's own sequence (claims_change_id_seq), drawn by its insert trigger under
  the feed's advisory lock, as claims_change's are (0007): the two tables share one order, and ids commit in
  that order, so /api/v1/changes/ can list both by id and ?after= never skips one. A correction is of a
  published claim, not earlier than the feed's latest entry, and append-only.
- Old slugs (claims_oldclaimslug, claims_oldspeakerslug): a trigger records a slug whenever it changes,
  whoever writes it (the admin, a command, a shell), so /claims/<old>/ and /speakers/<old>/ keep answering
  with a redirect; an old slug is never taken by another claim or speaker (refused), and a claim or speaker
  that takes back its own old slug drops the redirect. A claim's slug is recorded once it is published: an
  unpublished claim's address was never public.
- Statuses in use keep their wording and place: an update of a status's label, position or scale is refused
  while any verdict uses it, as it would silently rewrite every rating (and ClaimReview) made with it. A
  migration that means to change the scale's wording sets `SET LOCAL factcheck.rescale_statuses = 'on'` first.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

FORWARD = r"""
-- Corrections: ids from the feed's sequence, under the feed's lock; published in order; append-only.
ALTER TABLE claims_correction ALTER COLUMN id DROP IDENTITY;

CREATE FUNCTION claims_correction_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_at timestamptz;
BEGIN
    -- claims.services.CHANGE_FEED_LOCK, as claims_change_in_order takes it (0007): re-entrant.
    PERFORM pg_advisory_xact_lock(7146532901);
    NEW.id := nextval(pg_get_serial_sequence('claims_change', 'id'));
    SELECT max(published_at) INTO latest_at FROM (
        (SELECT published_at FROM claims_change ORDER BY id DESC LIMIT 1)
        UNION ALL (SELECT published_at FROM claims_correction ORDER BY id DESC LIMIT 1)
    ) AS latest;
    IF NEW.published_at < latest_at THEN
        RAISE EXCEPTION 'A correction cannot be published before the changes feed''s latest entry (%): the '
            'feed runs forward in time.', latest_at USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM claims_claim WHERE id = NEW.claim_id AND status_id IS NOT NULL) THEN
        RAISE EXCEPTION 'A correction is of a published claim; an unpublished claim is edited freely.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.verdict_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM claims_verdict WHERE id = NEW.verdict_id AND claim_id = NEW.claim_id
            AND status_id = NEW.to_status_id AND published_at IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'A rating correction records its verdict''s publication: the verdict must be '
            'published, on the same claim, to the same status.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_correction_in_order BEFORE INSERT ON claims_correction
    FOR EACH ROW EXECUTE FUNCTION claims_correction_in_order();

CREATE FUNCTION claims_correction_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Corrections are append-only: publish another correction.'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER claims_correction_append_only BEFORE UPDATE OR DELETE ON claims_correction
    FOR EACH ROW EXECUTE FUNCTION claims_correction_append_only();

-- A status change, too, is not published before the feed's latest entry, a correction included.
CREATE OR REPLACE FUNCTION claims_change_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest_at timestamptz;
    previous_status bigint;
BEGIN
    -- claims.services.CHANGE_FEED_LOCK; re-entrant, so the service having taken it already costs nothing.
    PERFORM pg_advisory_xact_lock(7146532901);
    NEW.id := nextval(pg_get_serial_sequence('claims_change', 'id'));
    -- The feed's latest entry, a status change or a correction (0016: both share the feed).
    SELECT max(published_at) INTO latest_at FROM (
        (SELECT published_at FROM claims_change ORDER BY id DESC LIMIT 1)
        UNION ALL (SELECT published_at FROM claims_correction ORDER BY id DESC LIMIT 1)
    ) AS latest;
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

-- Old slugs, recorded by the database whoever changes a slug, and never given to another row.
CREATE FUNCTION claims_claim_keep_old_slug() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM claims_oldclaimslug WHERE slug = NEW.slug AND claim_id = NEW.id;
    END IF;
    IF EXISTS (SELECT 1 FROM claims_oldclaimslug WHERE slug = NEW.slug) THEN
        RAISE EXCEPTION 'The slug “%” is another claim''s old address, which still leads to it; choose '
            'another.', NEW.slug USING ERRCODE = 'unique_violation', CONSTRAINT = 'claims_claim_old_slug';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status_id IS NOT NULL THEN
        INSERT INTO claims_oldclaimslug (slug, claim_id) VALUES (OLD.slug, NEW.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_claim_keep_old_slug_on_insert BEFORE INSERT ON claims_claim
    FOR EACH ROW EXECUTE FUNCTION claims_claim_keep_old_slug();
CREATE TRIGGER claims_claim_keep_old_slug_on_update BEFORE UPDATE OF slug ON claims_claim
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug) EXECUTE FUNCTION claims_claim_keep_old_slug();

CREATE FUNCTION claims_speaker_keep_old_slug() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM claims_oldspeakerslug WHERE slug = NEW.slug AND speaker_id = NEW.id;
    END IF;
    IF EXISTS (SELECT 1 FROM claims_oldspeakerslug WHERE slug = NEW.slug) THEN
        RAISE EXCEPTION 'The slug “%” is another speaker''s old address, which still leads to them; choose '
            'another.', NEW.slug USING ERRCODE = 'unique_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO claims_oldspeakerslug (slug, speaker_id) VALUES (OLD.slug, NEW.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_speaker_keep_old_slug_on_insert BEFORE INSERT ON claims_speaker
    FOR EACH ROW EXECUTE FUNCTION claims_speaker_keep_old_slug();
CREATE TRIGGER claims_speaker_keep_old_slug_on_update BEFORE UPDATE OF slug ON claims_speaker
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug) EXECUTE FUNCTION claims_speaker_keep_old_slug();

-- A status in use keeps its label, position and scale, unless a migration says it means to change them.
CREATE FUNCTION claims_status_keep_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('factcheck.rescale_statuses', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM claims_verdict WHERE status_id = OLD.id) THEN
        RAISE EXCEPTION 'The status “%” is used by verdicts: its label, position and scale cannot change, as '
            'that would rewrite every rating made with it. A change of scale wording is a migration (README, '
            '"Changing a scale''s wording").', OLD.label USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_status_keep_in_use BEFORE UPDATE OF label, position, scale ON claims_status
    -- Written out field by field: a row comparison reads back (and so dumps and restores) in other words.
    FOR EACH ROW WHEN (OLD.label IS DISTINCT FROM NEW.label OR OLD.position IS DISTINCT FROM NEW.position
                       OR OLD.scale IS DISTINCT FROM NEW.scale)
    EXECUTE FUNCTION claims_status_keep_in_use();
"""

BACKWARD = r"""
DROP TRIGGER claims_status_keep_in_use ON claims_status;
DROP FUNCTION claims_status_keep_in_use();
DROP TRIGGER claims_speaker_keep_old_slug_on_update ON claims_speaker;
DROP TRIGGER claims_speaker_keep_old_slug_on_insert ON claims_speaker;
DROP FUNCTION claims_speaker_keep_old_slug();
DROP TRIGGER claims_claim_keep_old_slug_on_update ON claims_claim;
DROP TRIGGER claims_claim_keep_old_slug_on_insert ON claims_claim;
DROP FUNCTION claims_claim_keep_old_slug();
-- 0007's claims_change_in_order, comparing with status changes only.
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
DROP TRIGGER claims_correction_append_only ON claims_correction;
DROP FUNCTION claims_correction_append_only();
DROP TRIGGER claims_correction_in_order ON claims_correction;
DROP FUNCTION claims_correction_in_order();
ALTER TABLE claims_correction ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
"""


def let_editors_read_corrections(apps, schema_editor):
    """The Editors (0003) and Reviewers (0014) groups may read corrections in the admin; nobody writes them
    there."""
    database = schema_editor.connection.alias
    claims = apps.get_app_config("claims")
    # create_permissions() skips an app without a models module, which an app of the migration state is.
    claims.models_module = True
    try:
        create_permissions(claims, verbosity=0, using=database, apps=apps)
    finally:
        claims.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.using(database).get(
        content_type__app_label="claims", codename="view_correction"
    )
    for group in Group.objects.using(database).filter(name__in=["Editors", "Reviewers"]):
        group.permissions.add(view)


def stop_editors_reading_corrections(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="claims", codename="view_correction"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0015_optimistic_locking"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="verdict",
            name="correction_note",
            field=models.TextField(
                blank=True,
                default="",
                db_default="",
                help_text="Facts only: when this verdict changes a published rating, why. Required then, and public as a correction once the verdict is published.",
                verbose_name="reason for changing the rating",
            ),
        ),
        migrations.CreateModel(
            name="OldClaimSlug",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=200, unique=True)),
                (
                    "retired_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the slug was changed.",
                    ),
                ),
                (
                    "claim",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="old_slugs",
                        to="claims.claim",
                    ),
                ),
            ],
            options={
                "verbose_name": "old claim slug",
                "ordering": ["slug"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="OldSpeakerSlug",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=200, unique=True)),
                (
                    "retired_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        help_text="When the slug was changed.",
                    ),
                ),
                (
                    "speaker",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="old_slugs",
                        to="claims.speaker",
                    ),
                ),
            ],
            options={
                "verbose_name": "old speaker slug",
                "ordering": ["slug"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="Correction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
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
                (
                    "claim",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="claims.claim",
                    ),
                ),
                (
                    "from_status",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="claims.status",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "to_status",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="claims.status",
                    ),
                ),
                (
                    "verdict",
                    models.OneToOneField(
                        blank=True,
                        help_text="For a changed rating: the verdict that changed it.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="correction",
                        to="claims.verdict",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["claim", "-id"], name="claims_correction_claim_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("note__regex", "\\S")),
                        name="claims_correction_note_not_empty",
                        violation_error_message="A correction needs a note saying what was corrected and why.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("from_status__isnull", True),
                                ("to_status__isnull", True),
                                ("verdict__isnull", True),
                            ),
                            models.Q(
                                ("from_status__isnull", False),
                                ("to_status__isnull", False),
                                ("verdict__isnull", False),
                            ),
                            _connector="OR",
                        ),
                        name="claims_correction_rating_complete",
                    ),
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(let_editors_read_corrections, stop_editors_reading_corrections),
    ]
