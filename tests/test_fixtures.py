"""The default data: fixtures/statuses.json and fixtures/seed_article.json, loaded by load_default_data."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from claims.models import Claim, Evidence, Kind, Scale, Source, Speaker, Status, StatusChange, Verdict
from claims.services import record_verdict
from tests.factories import get_status

pytestmark = pytest.mark.django_db

SEED_URL = (
    "https://www.expressandstar.com/news/world-news/2025/05/19/"
    "trump-says-russia-ukraine-ceasefire-talks-to-begin-immediately/"
)
# sha256 of /work/shared/seed/article.txt as received (5,113 bytes): the archived text is that file byte for
# byte, checked here without needing the file, which is not part of the repository.
ARTICLE_SHA256 = "dec4b012ccf51594daef2088572ad54a59855e8db16d679e923d432573c9340b"

MODELS = (Status, Speaker, Source, Claim, Verdict, Evidence, StatusChange)


def load_default_data(*args: str) -> str:
    out = StringIO()
    call_command("load_default_data", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every claims table, all columns, by id."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


@pytest.fixture
def default_data(db) -> str:
    return load_default_data()


def test_the_command_loads_the_status_scales_and_the_seed_article(default_data):
    assert "Loaded the default data: 12 statuses" in default_data
    assert "15 claims and 15 published verdicts" in default_data
    assert Status.objects.filter(scale=Scale.ACCURACY).count() == 6
    assert Status.objects.filter(scale=Scale.TRACKING).count() == 6
    assert Source.objects.get().url == SEED_URL
    assert Claim.objects.count() == 15
    assert Claim.objects.published().count() == 15


def test_running_the_command_again_skips_and_changes_nothing(default_data):
    before = snapshot()
    output = load_default_data()
    assert "already loaded" in output
    assert "skipped" in output
    assert snapshot() == before


def test_a_forced_reload_changes_nothing(default_data):
    before = snapshot()
    output = load_default_data("--force")
    assert output.startswith("Reloaded the default data")
    assert snapshot() == before


def test_loading_both_fixtures_twice_with_loaddata_changes_nothing(db):
    call_command("loaddata", "statuses", "seed_article", verbosity=0)
    before = snapshot()
    call_command("loaddata", "statuses", "seed_article", verbosity=0)
    assert snapshot() == before
    assert sum(len(rows) for rows in before.values()) == 12 + 7 + 1 + 15 * 4


def test_a_natural_key_dump_loads_back_without_changing_anything(default_data, tmp_path: Path):
    before = snapshot()
    dump = tmp_path / "claims.json"
    call_command("dumpdata", "claims", natural_foreign=True, natural_primary=True, output=str(dump))
    call_command("loaddata", str(dump), verbosity=0)
    assert snapshot() == before


def test_a_second_run_keeps_an_editors_later_verdict(default_data):
    claim = Claim.objects.get(slug="ushakov-prisoner-exchange-nine-each")
    record_verdict(claim=claim, status=get_status("in-progress"), summary="Names exchanged.")
    output = load_default_data()
    assert "skipped" in output
    claim.refresh_from_db()
    assert claim.status.slug == "in-progress"
    assert claim.verdicts.count() == 2


def test_a_forced_reload_refuses_to_rewind_an_editors_later_verdict(default_data):
    claim = Claim.objects.get(slug="ushakov-prisoner-exchange-nine-each")
    record_verdict(claim=claim, status=get_status("in-progress"), summary="Names exchanged.")
    Speaker.objects.filter(slug="yuri-ushakov").update(role="Adviser")
    before = snapshot()
    with pytest.raises(CommandError, match="ushakov-prisoner-exchange-nine-each") as refused:
        load_default_data("--force")
    assert "Nothing was loaded" in str(refused.value)
    assert snapshot() == before


def test_a_forced_reload_puts_back_an_edited_default_row(default_data):
    Speaker.objects.filter(slug="yuri-ushakov").update(role="Adviser")
    load_default_data("--force")
    assert Speaker.objects.get(slug="yuri-ushakov").role == "Russian presidential adviser"


def test_every_quote_is_found_verbatim_in_its_source(default_data):
    claims = list(Claim.objects.select_related("source"))
    quoted = [claim for claim in claims if claim.quote]
    assert len(quoted) >= 10
    for claim in quoted:
        assert claim.quote in claim.source.archived_text, claim.slug
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
    assert "Mr Putin and Mr rump also talked" in Source.objects.get().archived_text
    for claim in Claim.objects.all():
        assert not typo.search(claim.quote), claim.slug
        assert not typo.search(claim.text), claim.slug
    for speaker in Speaker.objects.all():
        assert not typo.search(f"{speaker.name} {speaker.role} {speaker.description}")


def test_the_source_is_the_article_archived_exactly_as_received(default_data):
    source = Source.objects.get()
    text = source.archived_text
    assert text.startswith("Express & Star\n\nTrump says Russia-Ukraine ceasefire talks to begin")
    assert "Mr rump" in text
    assert len(text) > 4000
    assert hashlib.sha256(text.encode()).hexdigest() == ARTICLE_SHA256
    assert source.title == "Trump says Russia-Ukraine ceasefire talks to begin \u2018immediately\u2019"
    assert source.title in text
    assert (source.publisher, source.published_on) == ("Express & Star", date(2025, 5, 19))
    assert source.authors.startswith("Josh Boak, Zeke Miller")
    assert "Associated Press" in source.authors
    assert source.archived_at is not None


def test_opinions_are_not_claims(default_data):
    text = Source.objects.get().archived_text
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


def test_each_published_verdict_has_exactly_one_change_as_record_verdict_appends_it(default_data):
    verdicts = Verdict.objects.published().select_related("status_change")
    assert verdicts.count() == StatusChange.objects.count() == 15
    for verdict in verdicts:
        change = verdict.status_change
        assert change.claim_id == verdict.claim_id
        assert change.from_status is None
        assert change.to_status_id == verdict.status_id
        assert change.published_at == verdict.published_at
        assert change.published_by is None
