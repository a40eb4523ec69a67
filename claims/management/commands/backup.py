"""`manage.py backup` (`make backup`): the database to backups/factcheck-YYYYmmdd-HHMMSS.dump."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from factcheck.backups import BACKUP_DIR, backup_database, human_size


class Command(BaseCommand):
    help = "Back up the database with pg_dump (custom format) to backups/factcheck-YYYYmmdd-HHMMSS.dump."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--directory", type=Path, default=BACKUP_DIR, help="default: backups/")

    def handle(self, *args, directory: Path, **options) -> None:
        database = settings.DATABASES["default"]
        path, pg_dump = backup_database(database, directory)
        self.stdout.write(
            f"Backed up database {database['NAME']} to {path} ({human_size(path.stat().st_size)}),"
            f" with {pg_dump}."
        )
