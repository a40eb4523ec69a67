"""The default data: fixtures/statuses.json and fixtures/seed_article.json, loaded by load_default_data.

The seed article's text ships in the repository (fixtures/seed_article.txt); the quotes and the archived
text are checked against that file.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from itertools import pairwise
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from claims.management.commands.load_default_data import DEFAULT_DATA_LOCK, read_seed
from claims.models import (
    Claim,
    Evidence,
    Fidelity,
    Kind,
    LoadedDataSet,
    Scale,
    Source,
    Speaker,
    Status,
    StatusChange,
    Verdict,
)
from claims.quotes import normalise
from claims.services import record_verdict
from tests.factories import get_status, make_claim, make_rated_claim

pytestmark = pytest.mark.django_db

SEED_URL = (
    "https://www.expressandstar.com/news/world-news/2025/05/19/"
    "trump-says-russia-ukraine-ceasefire-talks-to-begin-immediately/"
)
ARTICLE = settings.BASE_DIR / "fixtures" / "seed_article.txt"
# sha256 of the article as received (5,113 bytes of UTF-8): the shipped file is that text byte for byte.
ARTICLE_SHA256 = "dec4b012ccf51594daef2088572ad54a59855e8db16d679e923d432573c9340b"

MODELS = (Status, Speaker, Source, Claim, Verdict, Evidence, StatusChange, LoadedDataSet)


def load_default_data(*args: str) -> str:
    out = StringIO()
    call_command("load_default_data", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every claims table, all columns, by id."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def seed_claims_in_file_order() -> list[str]:
    return [claim["slug"] for claim in read_seed()["claims"]]


@pytest.fixture
def default_data(db) -> str:
    return load_default_data()


def test_the_command_loads_the_status_scales_and_the_seed_article(default_data):
    assert default_data.startswith("Loaded the default data: 12 statuses; ")
    assert "7 speakers, 15 claims and 15 published verdicts, published at their shipped times" in default_data
    assert Status.objects.filter(scale=Scale.ACCURACY).count() == 6
    assert Status.objects.filter(scale=Scale.TRACKING).count() == 6
    assert Speaker.objects.count() == 7
    assert Source.objects.get().url == SEED_URL
    assert Claim.objects.count() == Claim.objects.published().count() == 15
    assert Verdict.objects.published().count() == Verdict.objects.count() == 15
    assert Evidence.objects.filter(verdict__published_at__isnull=False).count() == 15
    assert StatusChange.objects.count() == 15
    assert set(LoadedDataSet.objects.values_list("name", flat=True)) == {"statuses", "seed-article"}


def test_the_seeds_status_changes_run_in_statement_order_oldest_first(default_data):
    changes = list(StatusChange.objects.order_by("id").select_related("claim", "verdict"))
    shipped = {claim["slug"]: claim["verdict"]["published_at"] for claim in read_seed()["claims"]}
    assert [change.claim.slug for change in changes] == seed_claims_in_file_order()
    assert [change.published_at for change in changes] == list(shipped.values())
    assert all(earlier.published_at < later.published_at for earlier, later in pairwise(changes))
    # Leavitt and Vance spoke ahead of the call, the others after it (in the article's order).
    assert [change.claim.speaker_name for change in changes[:3]] == ["Karoline Leavitt"] * 2 + ["JD Vance"]
    assert changes[3].claim.slug == "trump-ceasefire-talks-begin-immediately"
    assert changes[-1].claim.slug == "zelensky-ready-to-make-real-decisions"
    for change in changes:
        assert change.from_status is None
        assert change.to_status_id == change.verdict.status_id
        assert change.published_at == change.verdict.published_at == shipped[change.claim.slug]
        assert change.published_by is None


def test_the_home_page_the_claim_list_and_the_feed_agree_on_the_seeds_order(default_data, client: Client):
    """The home page lists the latest changes by id, /claims/ by time: the same order for the seed."""
    claim_link = re.compile(r'href="/claims/([a-z0-9-]+)/"')
    latest = re.search(
        r'<section aria-labelledby="latest-heading">.*?</section>', client.get("/").content.decode(), re.S
    )[0]
    home = list(dict.fromkeys(claim_link.findall(latest)))
    listed = list(dict.fromkeys(claim_link.findall(client.get("/claims/").content.decode())))
    feed = client.get("/api/v1/changes/").json()["results"]

    assert home[0] == listed[0] == "zelensky-ready-to-make-real-decisions"
    assert home == listed[: len(home)]
    assert len(home) == 10
    assert [change["claim"]["slug"] for change in feed] == seed_claims_in_file_order()
    assert [change["at"] for change in feed] == sorted(change["at"] for change in feed)


def test_running_the_command_again_skips_and_changes_nothing(default_data):
    before = snapshot()
    output = load_default_data()
    assert output.startswith("Default data already loaded (statuses on ")
    assert "skipped" in output
    assert snapshot() == before


def test_after_an_editor_changes_the_seed_articles_url_the_command_still_skips(default_data):
    Source.objects.filter(url=SEED_URL).update(url="https://www.expressandstar.com/moved/")
    before = snapshot()
    output = load_default_data()
    assert "skipped" in output
    assert snapshot() == before
    assert Source.objects.get().url == "https://www.expressandstar.com/moved/"


def test_a_second_run_keeps_an_editors_later_verdict(default_data):
    claim = Claim.objects.get(slug="ushakov-prisoner-exchange-nine-each")
    record_verdict(claim=claim, status=get_status("in-progress"), summary="Names exchanged.")
    output = load_default_data()
    assert "skipped" in output
    claim.refresh_from_db()
    assert claim.status.slug == "in-progress"
    assert claim.verdicts.count() == 2


def test_statuses_already_there_are_kept_as_editors_left_them(statuses):
    Status.objects.filter(slug="open").update(label="Pending")
    output = load_default_data()
    assert output.startswith("Loaded the default data: 0 statuses (12 were there); ")
    assert Status.objects.count() == 12
    assert Status.objects.get(slug="open").label == "Pending"
    assert Claim.objects.filter(status__slug="open").count() == 10


def test_when_editors_published_before_the_seed_its_verdicts_are_published_after_theirs(statuses):
    editors = make_rated_claim()
    editors_change = StatusChange.objects.get()
    started = timezone.now()

    output = load_default_data()

    assert "15 published verdicts, published now, after the changes already published" in output
    changes = list(StatusChange.objects.order_by("id").select_related("claim"))
    assert changes[0] == editors_change
    assert [change.claim.slug for change in changes[1:]] == seed_claims_in_file_order()
    assert all(earlier.published_at < later.published_at for earlier, later in pairwise(changes))
    assert started <= changes[1].published_at <= changes[-1].published_at <= timezone.now()
    editors.refresh_from_db()
    assert editors.status_changed_at == editors_change.published_at


def test_a_seed_claim_slug_already_taken_refuses_the_load_and_loads_nothing(statuses):
    make_rated_claim(slug="putin-root-causes")
    LoadedDataSet.objects.create(name="statuses")
    before = snapshot()
    with pytest.raises(CommandError, match="putin-root-causes") as refused:
        load_default_data()
    assert "Nothing was loaded" in str(refused.value)
    assert snapshot() == before


def test_a_seed_claim_said_after_today_refuses_the_load_and_loads_nothing(statuses, monkeypatch):
    seed = read_seed()
    seed["claims"][3]["said_on"] = (timezone.localdate() + timedelta(days=1)).isoformat()
    monkeypatch.setattr("claims.management.commands.load_default_data.read_seed", lambda: seed)
    LoadedDataSet.objects.create(name="statuses")
    before = snapshot()

    with pytest.raises(CommandError, match=seed["claims"][3]["slug"]) as refused:
        load_default_data()

    assert "A claim cannot have been said in the future" in str(refused.value)
    assert "Nothing was loaded" in str(refused.value)
    assert snapshot() == before


def test_a_seed_that_cannot_be_loaded_leaves_the_status_scales_loaded(db):
    """Each data set is its own transaction: the site keeps its statuses when the seed is refused."""
    make_claim(slug="putin-root-causes")  # unrated, so no status is needed to make it
    with pytest.raises(CommandError, match="putin-root-causes"):
        load_default_data()
    assert Status.objects.count() == 12
    assert list(LoadedDataSet.objects.values_list("name", flat=True)) == ["statuses"]
    assert not Claim.objects.filter(slug="putin-peace-memorandum").exists()


def test_a_database_the_earlier_command_filled_is_recorded_as_loaded_by_the_migration(statuses):
    """Before LoadedDataSet, the seed was there when its source was; migration 0008 records that."""
    load_default_data()
    LoadedDataSet.objects.all().delete()
    Source.objects.update(url="https://www.expressandstar.com/moved/")  # the claims still say it was loaded
    migration = importlib.import_module("claims.migrations.0009_loaded_data_sets")
    migration.record_earlier_loads(apps, None)
    before = snapshot()

    assert "skipped" in load_default_data()
    assert snapshot() == before
    assert set(LoadedDataSet.objects.values_list("name", flat=True)) == {"statuses", "seed-article"}


def _waiting_for_the_default_data_lock() -> int:
    """How many connections are queued for the command's advisory lock (pg_locks, not granted)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [DEFAULT_DATA_LOCK],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_load_the_data_once():
    """Two processes starting together (two web containers): each data set is loaded by one of them, while
    the other waits for it and then skips it (one may load the statuses and the other the seed)."""
    outputs: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '20s'")  # bounded: no thread can hang the test run
            outputs.append(load_default_data())
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    with connection.cursor() as cursor:  # hold the lock so both runs queue behind it
        cursor.execute("SELECT pg_advisory_lock(%s)", [DEFAULT_DATA_LOCK])
    threads = [threading.Thread(target=run) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while _waiting_for_the_default_data_lock() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_for_the_default_data_lock() == 2
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [DEFAULT_DATA_LOCK])
        for thread in threads:
            thread.join(timeout=60)

    assert not errors
    both = "".join(outputs)
    assert len(outputs) == 2
    assert both.count("12 statuses") == 1
    assert both.count("15 claims and 15 published verdicts") == 1
    assert Claim.objects.count() == StatusChange.objects.count() == 15
    assert LoadedDataSet.objects.count() == 2


def test_every_quote_is_verbatim_in_the_shipped_article(db):
    text = ARTICLE.read_text(encoding="utf-8")
    quotes = {claim["slug"]: claim["quote"] for claim in read_seed()["claims"] if claim["quote"]}
    assert len(quotes) >= 10
    for slug, quote in quotes.items():
        assert quote in text, slug


def test_every_verbatim_seed_quote_is_verified_against_the_shipped_article(default_data):
    claims = list(Claim.objects.select_related("quote_snapshot"))
    quoted = [claim for claim in claims if claim.quote]
    verbatim = [claim for claim in quoted if claim.fidelity == Fidelity.VERBATIM]
    assert len(verbatim) >= 10
    assert {claim.fidelity for claim in quoted} <= set(Fidelity.values)
    assert all(claim.fidelity == "" for claim in claims if not claim.quote)
    for claim in verbatim:
        assert claim.quote_verified, claim.slug
        found = claim.quote_snapshot.text[claim.quote_start : claim.quote_end]
        assert normalise(found).text == normalise(claim.quote).text, claim.slug
        assert claim.quote_snapshot.text == ARTICLE.read_text(encoding="utf-8")
    # The one quote the article gives in indirect speech is marked as reported, and not checked.
    reported = Claim.objects.get(slug="zelensky-full-unconditional-ceasefire")
    assert (reported.fidelity, reported.quote_verified) == (Fidelity.REPORTED, False)
    by_slug = {claim.slug: claim.quote for claim in claims}
    assert by_slug["trump-ceasefire-talks-begin-immediately"] == "immediately"
    assert by_slug["ushakov-prisoner-exchange-nine-each"] == "in the works"
    assert (
        by_slug["putin-root-causes"] == "The main thing for us is to eliminate the root causes of this crisis"
    )
    assert by_slug["leavitt-trump-weary-and-frustrated"] == (
        "He\u2019s grown weary and frustrated with both sides of the conflict"
    )


@pytest.mark.parametrize(
    ("words", "speaker"),
    [
        ("immediately", "donald-trump"),
        ("negotiated between the two parties", "donald-trump"),
        ("nine people each", "yuri-ushakov"),
        ("face to face", "yuri-ushakov"),
        ("memorandum", "vladimir-putin"),
        ("root causes", "vladimir-putin"),
        ("ready to work toward ending the fighting", "vladimir-putin"),
        ("full and unconditional ceasefire", "volodymyr-zelensky"),
        ("without involving Kyiv", "volodymyr-zelensky"),
        ("serious sanctions", "volodymyr-zelensky"),
        ("ready to make real decisions", "volodymyr-zelensky"),
        ("walking away", "jd-vance"),
        ("first such negotiations since March 2022", "dmitry-peskov"),
        ("weary and frustrated", "karoline-leavitt"),
        ("peaceful resolution and ceasefire as soon as possible", "karoline-leavitt"),
    ],
)
def test_each_claim_is_attributed_to_who_made_it(default_data, words: str, speaker: str):
    matching = [
        claim.speaker.slug
        for claim in Claim.objects.select_related("speaker")
        if words.lower() in f"{claim.text} {claim.quote}".lower()
    ]
    assert matching, f"no claim says {words!r}"
    assert set(matching) == {speaker}


def test_the_speakers_are_those_who_make_a_claim_with_their_roles(default_data):
    speakers = {speaker.slug: (speaker.name, speaker.role) for speaker in Speaker.objects.all()}
    assert speakers == {
        "donald-trump": ("Donald Trump", "US President"),
        "vladimir-putin": ("Vladimir Putin", "Russian President"),
        "volodymyr-zelensky": ("Volodymyr Zelensky", "Ukrainian President"),
        "jd-vance": ("JD Vance", "US Vice President"),
        "dmitry-peskov": ("Dmitry Peskov", "Kremlin spokesman"),
        "yuri-ushakov": ("Yuri Ushakov", "Russian presidential adviser"),
        "karoline-leavitt": ("Karoline Leavitt", "White House press secretary"),
    }
    assert not Speaker.objects.filter(claims=None).exists()
    # The trigger copies the speaker's name onto each claim, for search.
    assert all(claim.speaker_name == claim.speaker.name for claim in Claim.objects.select_related("speaker"))


def test_the_articles_rump_typo_stays_in_the_archive_and_nowhere_else(default_data):
    typo = re.compile(r"\brump\b", re.IGNORECASE)
    assert "Mr Putin and Mr rump also talked" in Source.objects.get().latest_snapshot().text
    for claim in Claim.objects.all():
        assert not typo.search(claim.quote), claim.slug
        assert not typo.search(claim.text), claim.slug
    for speaker in Speaker.objects.all():
        assert not typo.search(f"{speaker.name} {speaker.role} {speaker.description}")


def test_the_source_is_the_article_archived_exactly_as_received(default_data):
    source = Source.objects.get()
    (snapshot,) = source.snapshots.all()
    text = snapshot.text
    assert text.startswith("Express & Star\n\nTrump says Russia-Ukraine ceasefire talks to begin")
    assert "Mr rump" in text
    shipped = ARTICLE.read_bytes()
    assert len(shipped) == 5113
    assert hashlib.sha256(shipped).hexdigest() == ARTICLE_SHA256
    assert text == shipped.decode("utf-8")
    assert source.title == "Trump says Russia-Ukraine ceasefire talks to begin \u2018immediately\u2019"
    assert source.title in text
    assert (source.publisher, source.published_on) == ("Express & Star", date(2025, 5, 19))
    assert source.authors.startswith("Josh Boak, Zeke Miller")
    assert "Associated Press" in source.authors
    assert snapshot.captured_at == datetime(2025, 5, 19, 21, 0, tzinfo=UTC)
    assert snapshot.sha256 == ARTICLE_SHA256


def test_opinions_are_not_claims(default_data):
    text = Source.objects.get().latest_snapshot().text
    assert "\u201cexcellent\u201d" in text
    assert "\u201cfrank and meaningful\u201d" in text
    for claim in Claim.objects.all():
        for opinion in ("excellent", "frank and meaningful"):
            assert opinion not in claim.quote.lower(), claim.slug
            assert opinion not in claim.text.lower(), claim.slug


def test_statements_are_dated_to_the_day_of_the_call_and_only_tracked_claims_fall_due(default_data):
    monday = date(2025, 5, 19)
    for claim in Claim.objects.all():
        assert claim.said_on == monday, claim.slug
        if claim.kind == Kind.FACT:
            assert claim.due_on is None, claim.slug
        elif claim.due_on is not None:
            assert claim.due_on >= claim.said_on, claim.slug
    immediately = Claim.objects.get(slug="trump-ceasefire-talks-begin-immediately")
    assert immediately.kind == Kind.PREDICTION
    assert monday < immediately.due_on <= monday + timedelta(days=7)


def test_each_claim_has_one_initial_verdict_and_its_status_is_that_verdicts(default_data):
    for claim in Claim.objects.select_related("status").with_timeline():
        (verdict,) = claim.timeline
        assert claim.status == verdict.status, claim.slug
        assert claim.status_changed_at == verdict.published_at, claim.slug
        assert claim.status.scale == claim.scale == claim.expected_scale == verdict.scale, claim.slug
        assert verdict.published_at.date() == date(2025, 5, 19)
        assert verdict.created_by is None


def test_promises_and_predictions_start_open_and_facts_are_rated_only_on_the_articles_evidence(default_data):
    statuses = dict(Claim.objects.values_list("slug", "status__slug"))
    tracked = Claim.objects.exclude(kind=Kind.FACT).values_list("slug", flat=True)
    assert {statuses[slug] for slug in tracked} == {"open"}
    assert statuses["peskov-istanbul-talks-first-since-march-2022"] == "true"
    assert statuses["zelensky-no-decisions-without-kyiv"] == "unverified"
    assert statuses["leavitt-trump-weary-and-frustrated"] == "unverified"
    immediately = Verdict.objects.get(claim__slug="trump-ceasefire-talks-begin-immediately")
    assert immediately.summary == "No date, venue or participants announced."
    for verdict in Verdict.objects.with_evidence():
        (evidence,) = verdict.evidence_list
        assert evidence["source"]["url"] == SEED_URL
        assert evidence["note"].strip(), verdict.claim_id
