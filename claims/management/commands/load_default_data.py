"""`manage.py load_default_data`: the status scales and the seed article's claims, each loaded once.

Two data sets, each recorded in LoadedDataSet once loaded, so a later run skips it whatever editors have
since changed (the seed article's URL, a speaker's name, a status's label):
- "statuses": fixtures/statuses.json (a loaddata fixture, which the tests also load), the accuracy and
  tracking scales. Statuses whose slug is already there are kept as they are.
- "seed-article": fixtures/seed_article.json, the seed article (its text in fixtures/seed_article.txt) as a
  source, its speakers, its claims and each claim's initial verdict. The claims are created without a status;
  each verdict is then published through claims.services.record_verdict, the one write path, in the order
  the file lists them, which is the order of their publication times: the changes feed's ids and times
  then run the same way, oldest first.

`make run` and the Docker image call this on every start; they serve even when it fails, since the site
works without the default data. There is no --force: published verdicts are history that nothing rewrites,
so the seed cannot be "loaded again"; a fresh database is the way to the data as shipped.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.utils.dateparse import parse_date, parse_datetime

from claims.audit import RecordedCommand
from claims.events import lock_the_change_feed
from claims.models import Claim, Correction, LoadedDataSet, Source, Speaker, Status, StatusChange, sha256_hex
from claims.services import (
    EvidenceItem,
    archive_source_text,
    record_verdict,
    save_claim,
)

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures"
STATUSES = FIXTURE_DIR / "statuses.json"
SEED_ARTICLE = FIXTURE_DIR / "seed_article.json"

# Key of the transaction-level advisory lock that serialises runs of this command, so two processes
# starting at once (say, two web containers) do not both load the data. Distinct from the changes feed's lock.
DEFAULT_DATA_LOCK = 7_146_532_902

# When the changes feed already holds a change at or after the seed's first publication time (editors
# published before the seed was loaded), the seed's verdicts are published now instead, this far apart:
# the feed's times never go back, and all fifteen stay within record_verdict's one minute of clock skew.
REPUBLISH_STEP = timedelta(milliseconds=1)


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def read_seed(path: Path = SEED_ARTICLE) -> dict[str, Any]:
    """The seed file with the source's archived text read in and every verdict's time parsed.

    Raises CommandError when the publication times do not increase in the order listed.
    """
    seed = read_json(path)
    source = seed["source"]
    source["archived_text"] = (path.parent / source.pop("archived_text_file")).read_text(encoding="utf-8")
    times = [parse_datetime(claim["verdict"]["published_at"]) for claim in seed["claims"]]
    if any(later <= earlier for earlier, later in pairwise(times)):
        raise CommandError(f"{path.name}: the verdicts' publication times must increase in the order listed.")
    for claim, published_at in zip(seed["claims"], times, strict=True):
        claim["verdict"]["published_at"] = published_at
    return seed


class Command(RecordedCommand):
    help = "Load the default data (status scales, the seed article's claims) not loaded yet; skip the rest."

    def handle(self, *args: Any, **options: Any) -> None:
        """Load each data set not recorded as loaded, each in its own transaction, or skip.

        One transaction per set, so a seed that cannot be loaded (a claim slug taken, say) leaves the status
        scales loaded: the site still works, and editors can rate claims. Skipping costs two queries a set
        (the lock and the record); loading the seed about 240, fifteen for each claim (its insert and
        record_verdict's), once in a database's life.
        """
        done, skipped = [], {}
        for name, load in (("statuses", self._load_statuses), ("seed-article", self._load_seed_article)):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEFAULT_DATA_LOCK])
                loaded_at = (
                    LoadedDataSet.objects.filter(name=name).values_list("loaded_at", flat=True).first()
                )
                if loaded_at is not None:
                    skipped[name] = loaded_at
                    continue
                done.append(load())

        if not done:
            when = ", ".join(f"{name} on {at:%Y-%m-%d %H:%M %Z}" for name, at in skipped.items())
            self.stdout.write(
                f"Default data already loaded ({when}): skipped, so editors' later work is kept."
            )
            return
        self.stdout.write(self.style.SUCCESS(f"Loaded the default data: {'; '.join(done)}."))

    def _load_statuses(self) -> str:
        """Create the shipped statuses whose slug is not taken, and record the set. Three queries."""
        shipped = [obj["fields"] for obj in read_json(STATUSES) if obj["model"] == "claims.status"]
        present = set(
            Status.objects.filter(slug__in=[s["slug"] for s in shipped]).values_list("slug", flat=True)
        )
        Status.objects.bulk_create(Status(**fields) for fields in shipped if fields["slug"] not in present)
        LoadedDataSet.objects.create(name="statuses")
        created = len(shipped) - len(present)
        return f"{created} statuses" + (f" ({len(present)} were there)" if present else "")

    def _load_seed_article(self) -> str:
        """Create the seed's speakers, source and claims, then publish each claim's verdict in order.

        Speakers and the source already there (by slug, by URL) are used as they are; a claim slug already
        taken is refused (CommandError), since the seed's claims are new. Takes the changes feed's lock
        before choosing the publication times, so they stay after every change in the feed until it commits.
        """
        seed = read_seed()
        claims = seed["claims"]
        taken = sorted(
            Claim.objects.filter(slug__in=[c["slug"] for c in claims]).values_list("slug", flat=True)
        )
        if taken:
            raise CommandError(
                f"Not loading the seed article: claims with these slugs exist already: {', '.join(taken)}. "
                "Nothing was loaded."
            )
        statuses = Status.objects.in_bulk({c["verdict"]["status"] for c in claims}, field_name="slug")
        missing = sorted({c["verdict"]["status"] for c in claims} - set(statuses))
        if missing:
            raise CommandError(
                f"Not loading the seed article: it needs the statuses {', '.join(missing)}, which are not "
                "in the database. Nothing was loaded."
            )

        speakers = Speaker.objects.in_bulk([s["slug"] for s in seed["speakers"]], field_name="slug")
        new_speakers = Speaker.objects.bulk_create(
            Speaker(**fields) for fields in seed["speakers"] if fields["slug"] not in speakers
        )
        speakers.update({speaker.slug: speaker for speaker in new_speakers})
        fields = dict(seed["source"])
        fields["published_on"] = parse_date(fields["published_on"])
        text, captured_at = fields.pop("archived_text"), parse_datetime(fields.pop("archived_at"))
        source, _ = Source.objects.get_or_create(url=fields.pop("url"), defaults=fields)
        # The article as shipped, a snapshot of its own (a source already there keeps its captures; the
        # shipped text is added unless an identical capture exists): the seed's quotes are checked against it.
        if not source.snapshots.filter(sha256=sha256_hex(text)).exists():
            archive_source_text(source=source, text=text, captured_at=captured_at)

        now = lock_the_change_feed()
        shipped_times = [claim["verdict"]["published_at"] for claim in claims]
        # The feed's latest entry, a status change or a correction (both are on the changes feed).
        latest_in_feed = max(
            (
                at
                for model in (StatusChange, Correction)
                if (at := model.objects.aggregate(at=Max("published_at"))["at"]) is not None
            ),
            default=None,
        )
        times = publication_times(shipped_times, latest_in_feed, now)

        for item, published_at in zip(claims, times, strict=True):
            verdict = item["verdict"]
            claim = Claim(
                speaker=speakers[item["speaker"]],
                source=source,
                slug=item["slug"],
                text=item["text"],
                quote=item["quote"],
                fidelity=item.get("fidelity", ""),
                kind=item["kind"],
                said_on=parse_date(item["said_on"]),
                due_on=parse_date(item["due_on"]) if item["due_on"] else None,
            )
            try:
                save_claim(claim=claim)
            except ValidationError as refused:
                raise CommandError(
                    f"Not loading the seed article: claim {item['slug']}: {' '.join(refused.messages)} "
                    "Nothing was loaded."
                ) from None
            record_verdict(
                claim=claim,
                status=statuses[verdict["status"]],
                summary=verdict["summary"],
                explanation=verdict["explanation"],
                evidence=[EvidenceItem(source=source, note=e["note"]) for e in verdict["evidence"]],
                published_at=published_at,
            )
        LoadedDataSet.objects.create(name="seed-article")
        when = (
            "at their shipped times" if times == shipped_times else "now, after the changes already published"
        )
        return (
            f"from “{source.title}” ({source.publisher}), {len(speakers)} speakers, {len(claims)} claims and "
            f"{len(claims)} published verdicts, published {when}"
        )


def publication_times(
    shipped: list[datetime], latest_in_feed: datetime | None, now: datetime
) -> list[datetime]:
    """The seed verdicts' publication times: as shipped, unless the feed already has a change as late.

    The feed's times must not go back as its ids go up, and the seed's changes come after whatever is in
    the feed; so when an editor published before the seed was loaded, the verdicts are published now, in
    the same order.
    """
    if latest_in_feed is None or latest_in_feed < shipped[0]:
        return shipped
    start = max(now, latest_in_feed + REPUBLISH_STEP)
    return [start + n * REPUBLISH_STEP for n in range(len(shipped))]
