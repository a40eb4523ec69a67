"""A record of the default data sets load_default_data has loaded, so that it loads each once.

A database the earlier command filled has no such record: it is written here from what that command left,
so upgrading never loads the seed article a second time. The statuses count as loaded when any status is
there; the seed article when its source (by the URL it shipped with) or any of its claims (by slug) is.
"""

from django.db import migrations, models
from django.utils import timezone

SEED_URL = (
    "https://www.expressandstar.com/news/world-news/2025/05/19/"
    "trump-says-russia-ukraine-ceasefire-talks-to-begin-immediately/"
)
SEED_CLAIMS = [
    "leavitt-trump-wants-ceasefire-soon",
    "leavitt-trump-weary-and-frustrated",
    "zelensky-ready-to-make-real-decisions",
    "zelensky-full-unconditional-ceasefire",
    "zelensky-discussed-serious-sanctions",
    "zelensky-no-decisions-without-kyiv",
    "ushakov-prisoner-exchange-nine-each",
    "ushakov-trump-putin-could-meet",
    "peskov-istanbul-talks-first-since-march-2022",
    "vance-trump-open-to-walking-away",
    "putin-root-causes",
    "putin-peace-memorandum",
    "putin-russia-ready-to-work-toward-ending-fighting",
    "trump-conditions-negotiated-between-the-parties",
    "trump-ceasefire-talks-begin-immediately",
]


def record_earlier_loads(apps, schema_editor):
    LoadedDataSet = apps.get_model("claims", "LoadedDataSet")
    Status = apps.get_model("claims", "Status")
    Source = apps.get_model("claims", "Source")
    Claim = apps.get_model("claims", "Claim")
    now = timezone.now()
    if Status.objects.exists():
        LoadedDataSet.objects.get_or_create(name="statuses", defaults={"loaded_at": now})
    if Source.objects.filter(url=SEED_URL).exists() or Claim.objects.filter(slug__in=SEED_CLAIMS).exists():
        LoadedDataSet.objects.get_or_create(name="seed-article", defaults={"loaded_at": now})


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0008_constraint_messages"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoadedDataSet",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.SlugField(help_text="The data set: “statuses”, “seed-article”.", unique=True),
                ),
                (
                    "loaded_at",
                    models.DateTimeField(auto_now_add=True, help_text="When load_default_data loaded it."),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.RunPython(record_earlier_loads, migrations.RunPython.noop),
    ]
