"""The README's consumer (examples/follow_claims.py), run as a user runs it: against the site over HTTP and a
real worker process, while an editor's verdicts are published. It must see each event exactly once through
the events feed and at least once through webhooks, with their signatures verified."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import date

import pytest
from django.db import connection, transaction

from claims.models import Event, EventType, Kind, WebhookEndpoint
from claims.services import EvidenceItem, record_verdict
from tests.conftest import ROOT, unused_port
from tests.factories import get_status, make_claim, make_source
from tests.test_worker import workers  # noqa: F401 (the fixture: `manage.py procrastinate worker`)
from tests.test_write_path import wait_until

EXAMPLE = ROOT / "examples" / "follow_claims.py"
LINE = re.compile(r"^\[(feed|webhook)\] event (\d+) (\S+): ", re.M)


def test_the_readme_shows_the_consumer_as_it_is_in_examples():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    shown = next(block for block in blocks if "def poll(" in block)
    assert shown.strip() in EXAMPLE.read_text()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_consumer_sees_each_event_once_by_the_feed_and_at_least_once_by_webhook(
    live_server,
    workers,  # noqa: F811 (the fixture imported above)
    tmp_path,
    statuses,
):
    port = unused_port()
    endpoint = WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{port}/")
    before = Event.objects.count()
    workers()
    output = (tmp_path / "consumer.log").open("w+")
    consumer = subprocess.Popen(  # noqa: S603 (this interpreter and the example's path)
        [
            sys.executable,
            str(EXAMPLE),
            *("--site", live_server.url, "--listen", f"127.0.0.1:{port}", "--secret", endpoint.secret),
            *("--state", str(tmp_path / "state.json"), "--interval", "0.5"),
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        claim = make_claim(kind=Kind.PROMISE, said_on=date(2025, 5, 19), due_on=date(2026, 5, 19))
        evidence = [EvidenceItem(source=make_source(), note="What was said.")]
        # An editor's desk: three statuses, one after another, each published.
        for slug in ("open", "in-progress", "stalled"):
            with transaction.atomic():
                record_verdict(claim=claim, status=get_status(slug), summary=slug, evidence=evidence)
        published = list(
            Event.objects.filter(type=EventType.STATUS_CHANGED).order_by("id").values_list("id", flat=True)
        )
        assert len(published) == 3

        def lines() -> list[tuple[str, int]]:
            output.seek(0)
            return [(via, int(event)) for via, event, _ in LINE.findall(output.read())]

        def seen_all() -> bool:
            found = lines()
            return all(("feed", e) in found and ("webhook", e) in found for e in published)

        assert wait_until(seen_all, timeout=40), (tmp_path / "consumer.log").read_text()
        time.sleep(2)  # a little longer, for anything seen twice to show
        found = lines()
        feed = [event for via, event in found if via == "feed"]
        assert sorted(feed) == sorted(set(feed)), "an event came twice through the feed"
        assert set(published) <= set(feed)
        assert Event.objects.count() == before + 3
    finally:
        consumer.terminate()
        consumer.wait(timeout=10)
        output.close()
        # The queue's tables are procrastinate's, not models a test's flush empties: its jobs go here.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE procrastinate_jobs CASCADE")
