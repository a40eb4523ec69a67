"""`manage.py load_default_data [--force]`: the status scales and the seed article's claims, loaded once.

The default data are two fixtures: fixtures/statuses.json (the accuracy and tracking scales) and
fixtures/seed_article.json (the seed article as a source, its speakers, claims, their initial verdicts with
evidence, and the Changes those verdicts made). Both use natural keys only, so loading them again updates
the same rows with the same values instead of adding new ones.

`make run` and the Docker image call this on every start, so it loads the data only when the seed article
is not in the database yet: once editors work on the claims, a restart never overwrites their verdicts.
`--force` loads the fixtures again, putting the default rows back as shipped (edits to them are
overwritten); it refuses, and loads nothing, when editors have published a newer verdict on a default claim,
since reloading would rewind that claim's status behind its latest verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from claims.models import Claim, Source
from claims.services import CHANGE_FEED_LOCK

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures"
STATUSES = FIXTURE_DIR / "statuses.json"
SEED_ARTICLE = FIXTURE_DIR / "seed_article.json"

# Key of the transaction-level advisory lock that serialises runs of this command, so two processes
# starting at once (say, two web containers) do not both load the data. Distinct from CHANGE_FEED_LOCK.
DEFAULT_DATA_LOCK = 7_146_532_902


def read_fixture(path: Path) -> list[dict[str, Any]]:
    """The objects of a loaddata JSON fixture."""
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def fields_of(objects: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """The fields of each object of one model ("claims.claim") in a fixture."""
    return [obj["fields"] for obj in objects if obj["model"] == model]


class Command(BaseCommand):
    help = (
        "Load the default data (status scales and the seed article's claims) unless they are already "
        "there. --force loads them again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the fixtures even if the default data are there, resetting the default rows as "
            "shipped. Refused when editors have published newer verdicts on a default claim.",
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        """Load both fixtures in one transaction, or skip when the seed article is there.

        Skipping costs two queries (the lock and an EXISTS); a load a few hundred, as loaddata looks up
        and writes each object by its natural key.
        """
        statuses = read_fixture(STATUSES)
        seed = read_fixture(SEED_ARTICLE)
        (source,) = fields_of(seed, "claims.source")
        claims = fields_of(seed, "claims.claim")

        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEFAULT_DATA_LOCK])
            if not force and Source.objects.filter(url=source["url"]).exists():
                self.stdout.write(
                    f"Default data already loaded (the seed article {source['url']} is in the database): "
                    "skipped, so editors' later work is kept. Use --force to load them again."
                )
                return
            if force:
                self._refuse_to_rewind(claims)
            # Changes are appended under the same lock as claims.services takes, so their ids commit
            # in order with any verdict being published meanwhile (the changes feed relies on it).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_FEED_LOCK])
            call_command("loaddata", str(STATUSES), str(SEED_ARTICLE), verbosity=0)

        self.stdout.write(
            self.style.SUCCESS(
                f"{'Reloaded' if force else 'Loaded'} the default data: {len(statuses)} statuses; "
                f"from “{source['title']}” ({source['publisher']}), "
                f"{len(fields_of(seed, 'claims.speaker'))} speakers, {len(claims)} claims and "
                f"{len(fields_of(seed, 'claims.verdict'))} published verdicts."
            )
        )

    def _refuse_to_rewind(self, claims: list[dict[str, Any]]) -> None:
        """Raise CommandError when a default claim has a status published after the fixture's.

        One query; it locks the default claims' rows (SELECT … FOR UPDATE) until the load commits, so no
        verdict can be published on them in between.
        """
        shipped = {claim["slug"]: parse_datetime(claim["status_changed_at"]) for claim in claims}
        newer = sorted(
            slug
            for slug, changed_at in Claim.objects.select_for_update()
            .filter(slug__in=shipped)
            .values_list("slug", "status_changed_at")
            if changed_at is not None and changed_at > shipped[slug]
        )
        if newer:
            raise CommandError(
                f"Not reloading: {len(newer)} default claim(s) have verdicts published after the default "
                f"data ({', '.join(newer)}); reloading would rewind their status. Nothing was loaded."
            )
