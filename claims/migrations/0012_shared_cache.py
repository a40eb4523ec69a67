"""The table of Django's DatabaseCache (settings.CACHES, "factcheck_cache"): the API throttle's shared memory.

The columns are those `manage.py createcachetable` makes. Made by a migration, so every path that migrates
(make run, the container's start, the tests) has it. UNLOGGED: a cache need not survive a crash, so its
writes (one per anonymous API request) skip the write-ahead log.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0011_editor_help_texts"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                """
                CREATE UNLOGGED TABLE factcheck_cache (
                    cache_key varchar(255) NOT NULL PRIMARY KEY,
                    value text NOT NULL,
                    expires timestamp with time zone NOT NULL
                )
                """,
                "CREATE INDEX factcheck_cache_expires ON factcheck_cache (expires)",
            ],
            reverse_sql=["DROP TABLE factcheck_cache"],
        ),
    ]
