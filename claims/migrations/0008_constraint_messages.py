"""Constraint messages live with the constraints, so every full_clean caller gets the same words."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0007_single_write_path"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterConstraint(
            model_name="claim",
            name="claims_claim_slug_not_empty",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True),
                name="claims_claim_slug_not_empty",
                violation_error_message="A claim needs a slug for its address.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="claim",
            name="claims_claim_due_after_said",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("due_on__isnull", True), ("due_on__gte", models.F("said_on")), _connector="OR"
                ),
                name="claims_claim_due_after_said",
                violation_error_message="The due date cannot be before the day the claim was said.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="claim",
            name="claims_claim_due_only_for_tracked",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("due_on__isnull", True), models.Q(("kind", "fact"), _negated=True), _connector="OR"
                ),
                name="claims_claim_due_only_for_tracked",
                violation_error_message="Only promises and predictions have a due date; clear it for a fact.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="evidence",
            name="claims_evidence_verdict_source_uniq",
            constraint=models.UniqueConstraint(
                fields=("verdict", "source"),
                name="claims_evidence_verdict_source_uniq",
                violation_error_message="Each source can be cited once per verdict.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="speaker",
            name="claims_speaker_slug_not_empty",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True),
                name="claims_speaker_slug_not_empty",
                violation_error_message="A speaker needs a slug for their address.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="status",
            name="claims_status_colour_hex",
            constraint=models.CheckConstraint(
                condition=models.Q(("colour__regex", "^#[0-9a-fA-F]{6}$")),
                name="claims_status_colour_hex",
                violation_error_message="A colour is # and six hex digits, such as #15803d.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="verdict",
            name="claims_verdict_summary_not_empty",
            constraint=models.CheckConstraint(
                condition=models.Q(("summary", ""), _negated=True),
                name="claims_verdict_summary_not_empty",
                violation_error_message="A verdict needs a one-line summary.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="verdict",
            name="claims_verdict_claim_published_uniq",
            constraint=models.UniqueConstraint(
                fields=("claim", "published_at"),
                name="claims_verdict_claim_published_uniq",
                violation_error_message="The claim already has a verdict published at that time.",
            ),
        ),
    ]
