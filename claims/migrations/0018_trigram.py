"""pg_trgm: trigram indexes for similar claims and near-spellings of names, and one claim per quote.

A speaker's quote from a source is one claim: the normalised quote (a generated column) is unique per speaker
and source. A database that already holds such a duplicate is refused with the claims to merge, before the
constraint is added, rather than with the constraint's bare error.
"""

import django.contrib.postgres.aggregates
import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def refuse_duplicate_quotes(apps, schema_editor):
    """Name the claims that share a speaker, a source and a normalised quote, if any: they must be merged
    (or their quotes corrected) by an editor before the constraint can hold."""
    Claim = apps.get_model("claims", "Claim")
    duplicates = (
        Claim.objects.exclude(quote_normalised="")
        .values("speaker", "source", "quote_normalised")
        .annotate(n=models.Count("id"), slugs=django.contrib.postgres.aggregates.StringAgg("slug", ", "))
        .filter(n__gt=1)
    )
    found = [row["slugs"] for row in duplicates[:20]]
    if found:
        raise RuntimeError(
            "These claims quote the same words of the same speaker from the same source; merge them (or "
            "correct a quote) and migrate again: " + "; ".join(found)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0017_source_snapshots"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name="claim",
            name="quote_normalised",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    models.Func(
                        models.Func(
                            models.F("quote"),
                            models.Value("‘’‚‛′“”„‟″«»‐‑‒–—―−"),
                            models.Value('\'\'\'\'\'"""""""-------'),
                            function="TRANSLATE",
                            output_field=models.TextField(),
                        ),
                        models.Value(
                            "[\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+"
                        ),
                        models.Value(" "),
                        models.Value("g"),
                        function="REGEXP_REPLACE",
                        output_field=models.TextField(),
                    ),
                    function="BTRIM",
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
                verbose_name="normalised quote",
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["text"], name="claims_claim_text_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["quote"], name="claims_claim_quote_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["speaker_name"], name="claims_claim_speaker_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="speaker",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["name"], name="claims_speaker_name_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.RunPython(refuse_duplicate_quotes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="claim",
            constraint=models.UniqueConstraint(
                condition=models.Q(("quote_normalised", ""), _negated=True),
                fields=("speaker", "source", "quote_normalised"),
                name="claims_claim_quote_uniq",
                violation_error_message="This speaker's quote from this source is already a claim.",
            ),
        ),
    ]
