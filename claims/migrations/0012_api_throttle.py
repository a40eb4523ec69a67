"""The API throttle's table (factcheck.abuse.AnonymousClientThrottle): one row per recently seen client.

`tat` is the client's theoretical arrival time (the algorithm is in the throttle's docstring); `wait` is
what the client's latest request was told to wait, zero if it passed, so the one statement that decides can
return it. Made by a migration, so every path that migrates (make run, the container's start, the tests) has
it. UNLOGGED: the table is written on every anonymous API request, and losing it in a crash only forgets who
was throttled, so its writes skip the write-ahead log. No index on `tat`: the prune reads the whole (small)
table anyway, and without one an update of `tat` can stay in its page (a HOT update) without touching an index.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0011_editor_help_texts"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
                CREATE UNLOGGED TABLE factcheck_api_throttle (
                    key text NOT NULL PRIMARY KEY,
                    tat timestamp with time zone NOT NULL,
                    wait interval NOT NULL
                )
            """,
            reverse_sql="DROP TABLE factcheck_api_throttle",
        ),
    ]
