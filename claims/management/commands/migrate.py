"""`manage.py migrate`, one at a time: Django's own command, holding a PostgreSQL advisory lock while it runs.

`make run` and `make worker` (or a web and a worker container) each migrate before they start. Started
together on a new database, two migrations would create the same tables at once and one would fail on
PostgreSQL's catalogue ("duplicate key value violates unique constraint pg_type_typname_nsp_index"). With the
lock the second waits, then finds every migration applied and does nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

# Key of the session-level advisory lock held for the length of a migration (a constant unique to it).
MIGRATE_LOCK = 7_146_532_902


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " One at a time: a second migrate waits for the first (an advisory lock)."

    def handle(self, *args: Any, **options: Any) -> Any:
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
        try:
            return super().handle(*args, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
