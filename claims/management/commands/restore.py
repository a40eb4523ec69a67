"""`manage.py restore FILE` (`make restore FILE=...`): put a backup back into the database."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from factcheck.backups import restore_database


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the database, replacing the tables and rows it"
        " holds (in one transaction). Asks for confirmation unless --noinput."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="a backup, e.g. backups/factcheck-20260101-120000.dump")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="do not ask to confirm"
        )

    def handle(self, *args, file: Path, interactive: bool, **options) -> None:
        database = settings.DATABASES["default"]
        if not file.is_file():
            raise CommandError(f"No backup file {file}.")
        where = database.get("HOST") or database.get("OPTIONS", {}).get("host") or "localhost"
        if interactive:
            if not sys.stdin.isatty():
                raise CommandError(
                    "A restore replaces the database's contents: confirm it in a terminal, or pass --noinput"
                    " (make restore FILE=... YES=1)."
                )
            answer = input(
                f"Restore {file} into database {database['NAME']} on {where}? Each table in the backup replaces"
                " the database's own, rows and all: whatever was written since the backup is lost. Type 'yes'"
                " to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Not restored: the database is unchanged.")
        pg_restore = restore_database(database, file)
        self.stdout.write(f"Restored {file} into database {database['NAME']} on {where}, with {pg_restore}.")
