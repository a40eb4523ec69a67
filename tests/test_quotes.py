"""Quotes checked against the source (claims/quotes.py, save_claim), source snapshots, and where the archived
text may and may not appear: staff read it in the admin; readers and the API get the quoted paragraph."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from claims.models import Claim, Fidelity, Source, SourceSnapshot, Speaker
from claims.quotes import closest_passage, find_quote, normalise, paragraph_around
from claims.services import EvidenceItem, archive_source_text, record_verdict, save_claim
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_source,
    make_speaker,
    make_user,
)
from tests.test_write_path import WAIT, Held, someone_waits_for_a_lock, wait_until

pytestmark = pytest.mark.django_db

ARTICLE = (
    "Talks to begin \u2018immediately\u2019\n"
    "\n"
    "US President Donald Trump has said Russia and Ukraine will \u201cimmediately\u201d begin ceasefire "
    "negotiations.\n"
    "\n"
    "\u201cUkraine doesn\u2019t need to be persuaded \u2013 our representatives are ready to make real\n"
    "decisions,\u201d Mr Zelensky said.\n"
    "\n"
    "Mr Ushakov said Moscow and Washington would release nine people each. He offered no details.\n"
)


# normalise, find_quote, closest_passage -------------------------------------------------------------------


def test_normalising_makes_quotation_marks_dashes_and_white_space_plain_and_keeps_the_offsets():
    text = "\u201cA\u2019s\u00a0\u2014 b\u2019\n\n\tc\u00bb \u2212 d\u201e\u2032"
    found = normalise(text)
    assert found.text == "\"A's - b' c\" - d\"'"
    assert len(found.origin) == len(found.text) + 1
    assert found.origin[-1] == len(text)
    # Each character maps back to the one it came from; the run "\n\n\t" is one space, at its first.
    assert [text[i] for i in found.origin[:4]] == ["\u201c", "A", "\u2019", "s"]
    assert found.origin[found.text.index("' c") + 1] == text.index("\n")
    assert found.original_span(found.text.index("b"), found.text.index("c") + 1) == (
        text.index("b"),
        text.index("c") + 1,
    )


def test_a_quote_typed_plainly_is_found_in_the_text_as_received_with_its_original_offsets():
    quote = "Ukraine doesn't need to be persuaded - our representatives are ready to make real decisions"
    start, end = find_quote(quote, ARTICLE)
    assert ARTICLE[start:end] == (
        "Ukraine doesn\u2019t need to be persuaded \u2013 our representatives are ready to make real\n"
        "decisions"
    )
    # Curly quotation marks typed by the editor, and the quote's own outer spaces, do not matter either.
    assert find_quote("  \u201cimmediately\u201d ", ARTICLE, "Donald Trump") == (
        ARTICLE.index("\u201cimmediately\u201d"),
        ARTICLE.index("\u201cimmediately\u201d") + len("\u201cimmediately\u201d"),
    )


def test_finding_a_quote_keeps_case_and_every_word():
    assert find_quote("ukraine doesn't need to be persuaded", ARTICLE) is None
    assert find_quote("releases nine people", ARTICLE) is None
    assert find_quote("", ARTICLE) is None
    assert find_quote("   ", ARTICLE) is None
    assert find_quote("immediately", "") is None


def test_a_quote_repeated_in_a_headline_is_found_in_the_speakers_sentence():
    start, end = find_quote("immediately", ARTICLE, "Donald Trump")
    assert ARTICLE[start:end] == "immediately"
    assert start > ARTICLE.index("US President")


def test_the_closest_passage_is_the_sentence_sharing_most_of_the_quote():
    assert closest_passage("Moscow and Washington will free nine people each", ARTICLE) == (
        "Mr Ushakov said Moscow and Washington would release nine people each."
    )
    # As the text has it (its own quotation marks and dashes), and no further than a line: a line of an
    # archived text is a paragraph, a headline or a caption, as for the quote's paragraph on the claim page.
    assert closest_passage("our representatives are not ready", ARTICLE) == (
        "\u201cUkraine doesn\u2019t need to be persuaded \u2013 our representatives are ready to make real"
    )
    assert (
        closest_passage("Talks will begin immediately", ARTICLE) == "Talks to begin \u2018immediately\u2019"
    )
    assert closest_passage("zebras quietly grazing", ARTICLE) == ""
    assert closest_passage("", ARTICLE) == ""


def test_the_closest_passage_of_a_long_report_is_found_quickly_and_cut_short():
    filler = "The committee met again on Tuesday to discuss the budget for roads and schools. " * 6000
    needle = "The minister said the new bridge would open in spring next year, ahead of schedule."
    text = filler + needle + " " + filler  # nearly a million characters
    started = time.perf_counter()
    found = closest_passage("the new bridge will open next spring, ahead of schedule", text)
    assert found == needle
    assert time.perf_counter() - started < 5
    long_sentence = "word " * 500 + "end."
    assert len(closest_passage("word word word", long_sentence)) == 400


def test_the_paragraph_around_a_quote_is_cut_at_sentence_ends_far_from_it():
    filler = "A sentence to fill the paragraph out. " * 30
    text = f"Headline\n{filler}Here is the quote in its sentence. {filler}\nNext paragraph."
    start = text.index("the quote")
    found = paragraph_around(text, start, start + len("the quote"))
    assert found.quote == "the quote"
    assert found.before.startswith("… A sentence")
    assert found.before.endswith("Here is ")
    assert found.after.startswith(" in its sentence.")
    assert found.after.endswith(" …")
    assert "Headline" not in found.before and "Next paragraph" not in found.after


# The check in save_claim ---------------------------------------------------------------------------------------


def _article_source(**fields) -> Source:
    return make_source(
        archived_text=ARTICLE, archived_at=datetime(2025, 5, 19, 21, 0, tzinfo=UTC), title="Talks", **fields
    )


def _claim(source: Source, quote: str, fidelity: str = "", **fields) -> Claim:
    speaker = fields.pop("speaker", None) or make_speaker(name="Donald Trump")
    return Claim(
        speaker=speaker,
        source=source,
        slug=fields.pop("slug", "a-claim"),
        text="Ceasefire talks will begin at once.",
        quote=quote,
        fidelity=fidelity,
        kind="prediction",
        said_on=date(2025, 5, 19),
        **fields,
    )


def test_a_verbatim_quote_is_verified_and_its_offsets_stored():
    source = _article_source()
    claim = save_claim(claim=_claim(source, "Ukraine doesn't need to be persuaded - our representatives"))

    claim.refresh_from_db()
    assert claim.fidelity == Fidelity.VERBATIM  # a quote with no fidelity given is verbatim
    assert claim.quote_verified
    assert claim.quote_snapshot == source.latest_snapshot()
    assert ARTICLE[claim.quote_start : claim.quote_end] == (
        "Ukraine doesn\u2019t need to be persuaded \u2013 our representatives"
    )


def test_a_quote_not_in_the_archived_text_is_refused_with_the_closest_passage_and_nothing_is_written():
    source = _article_source()

    with pytest.raises(ValidationError) as refused:
        save_claim(claim=_claim(source, "Moscow and Washington will free nine people each"))

    (message,) = refused.value.message_dict["quote"]
    assert message.startswith(
        "Not found in the archived text of \u201cTalks (The Daily Record)\u201d (captured 19 May"
    )
    assert (
        "The closest passage is: \u201cMr Ushakov said Moscow and Washington would release nine people each.\u201d"
        in message
    )
    assert not Claim.objects.exists()


def test_an_edit_to_a_quote_not_in_the_text_is_refused_and_the_claim_kept_as_it_was():
    source = _article_source()
    claim = save_claim(claim=_claim(source, "immediately"))
    saved = Claim.objects.values("quote", "quote_start", "quote_end", "updated_at").get(pk=claim.pk)

    claim.quote = "very soon"
    with pytest.raises(ValidationError):
        save_claim(claim=claim)

    assert Claim.objects.values("quote", "quote_start", "quote_end", "updated_at").get(pk=claim.pk) == saved


def test_a_verbatim_quote_of_a_source_without_an_archived_text_is_refused():
    source = make_source(title="Unarchived")
    with pytest.raises(ValidationError) as refused:
        save_claim(claim=_claim(source, "immediately"))
    assert "archive the source's text first" in refused.value.messages[0]
    assert not Claim.objects.exists()


@pytest.mark.parametrize("fidelity", [Fidelity.PARAPHRASE, Fidelity.REPORTED])
def test_a_paraphrase_or_reported_speech_is_accepted_unchecked(fidelity):
    for source in (_article_source(), make_source()):
        claim = save_claim(claim=_claim(source, "They will talk very soon", fidelity, slug=f"c-{source.pk}"))
        claim.refresh_from_db()
        assert (claim.fidelity, claim.quote_snapshot_id, claim.quote_start, claim.quote_end) == (
            fidelity,
            None,
            None,
            None,
        )
        assert not claim.quote_verified


def test_clearing_the_quote_clears_its_fidelity_and_verification():
    claim = save_claim(claim=_claim(_article_source(), "immediately"))
    claim.quote = ""
    save_claim(claim=claim)
    claim.refresh_from_db()
    assert (claim.fidelity, claim.quote_snapshot_id, claim.quote_start) == ("", None, None)


def test_a_new_capture_is_a_new_snapshot_and_the_old_one_and_its_verified_quotes_are_kept():
    source = _article_source()
    first = source.latest_snapshot()
    claim = save_claim(claim=_claim(source, "immediately"))

    edited = ARTICLE.replace("\u201cimmediately\u201d", "soon")
    second = archive_source_text(source=source, text=edited, captured_at=datetime(2025, 5, 20, tzinfo=UTC))

    assert list(source.snapshots.latest_first()) == [second, first]
    assert SourceSnapshot.objects.get(pk=first.pk).text == ARTICLE
    assert source.latest_snapshot() == second
    # Saved again unchanged, the claim keeps its verification against the capture that holds the words...
    claim.text = "Ceasefire talks will begin straight away."
    save_claim(claim=claim)
    claim.refresh_from_db()
    assert (claim.quote_snapshot_id, claim.text) == (first.pk, "Ceasefire talks will begin straight away.")
    # ...and a quote edited is checked against the latest capture.
    claim.quote = "begin ceasefire negotiations"
    save_claim(claim=claim)
    claim.refresh_from_db()
    assert claim.quote_snapshot_id == second.pk
    assert edited[claim.quote_start : claim.quote_end] == "begin ceasefire negotiations"


def test_an_empty_or_future_capture_is_refused():
    source = make_source()
    with pytest.raises(ValidationError) as refused:
        archive_source_text(source=source, text="  \n")
    assert "cannot be empty" in refused.value.messages[0]
    with pytest.raises(ValidationError) as refused:
        archive_source_text(source=source, text="Text.", captured_at=datetime.now(UTC) + timedelta(hours=1))
    assert "in the future" in refused.value.messages[0]
    assert not SourceSnapshot.objects.exists()


# The database's rules ------------------------------------------------------------------------------------------


def _refused_by_the_database(sql: str, params: list) -> str:
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return str(refused.value)


def test_the_database_refuses_to_change_an_archived_text():
    snapshot = _article_source().latest_snapshot()

    assert "never changed" in _refused_by_the_database(
        "UPDATE claims_sourcesnapshot SET text = text || ' edited', sha256 = %s WHERE id = %s",
        ["0" * 64, snapshot.pk],
    )
    assert "never changed" in _refused_by_the_database(
        "UPDATE claims_sourcesnapshot SET captured_at = now() WHERE id = %s", [snapshot.pk]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceSnapshot.objects.filter(pk=snapshot.pk).update(source=make_source())
    assert SourceSnapshot.objects.get(pk=snapshot.pk).text == ARTICLE


def test_the_database_refuses_a_hash_that_is_not_the_texts():
    source = make_source()
    assert "claims_snapshot_sha256_of_text" in _refused_by_the_database(
        "INSERT INTO claims_sourcesnapshot (source_id, text, sha256, captured_at, created_at) "
        "VALUES (%s, 'Text.', %s, now(), now())",
        [source.pk, "0" * 64],
    )


def test_the_database_keeps_the_snapshots_of_a_source_a_published_claim_relies_on():
    relied_on = _article_source()
    make_rated_claim(source=relied_on, quote="nine people each", fidelity=Fidelity.PARAPHRASE)
    assert "captures are kept" in _refused_by_the_database(
        "DELETE FROM claims_sourcesnapshot WHERE source_id = %s", [relied_on.pk]
    )
    # A capture nothing relies on yet may go (an editor's mistake on a new source).
    unused = make_source(archived_text="A draft capture.")
    SourceSnapshot.objects.filter(source=unused).delete()
    assert not unused.snapshots.exists()


def test_the_database_keeps_a_verified_quote_in_an_archived_text_of_its_own_source():
    claim = save_claim(claim=_claim(_article_source(), "immediately"))
    other = make_source(archived_text=ARTICLE).latest_snapshot()

    assert "claims_claim_quote_snapshot_source_fk" in _refused_by_the_database(
        "UPDATE claims_claim SET quote_snapshot_id = %s WHERE id = %s", [other.pk, claim.pk]
    )
    assert "claims_claim_quote_offsets" in _refused_by_the_database(
        "UPDATE claims_claim SET fidelity = 'paraphrase' WHERE id = %s", [claim.pk]
    )
    assert "claims_claim_quote_offsets" in _refused_by_the_database(
        "UPDATE claims_claim SET quote_end = quote_start WHERE id = %s", [claim.pk]
    )
    assert "claims_claim_fidelity_with_quote" in _refused_by_the_database(
        "UPDATE claims_claim SET quote = '', quote_snapshot_id = NULL, quote_start = NULL, quote_end = NULL "
        "WHERE id = %s",
        [claim.pk],
    )


# The claim page and the API ------------------------------------------------------------------------------------


def test_the_page_says_as_quoted_in_only_for_a_verified_verbatim_quote(client, statuses):
    source = _article_source(publisher="Express & Star")
    speaker = make_speaker(name="Donald Trump")
    verified = make_rated_claim(source=source, speaker=speaker, quote="immediately")
    paraphrase = make_rated_claim(source=source, quote="talks start now", fidelity=Fidelity.PARAPHRASE)
    reported = make_rated_claim(
        source=source, quote="would release nine people each", fidelity=Fidelity.REPORTED
    )
    unverified = make_rated_claim(source=source, quote="at once", fidelity=Fidelity.VERBATIM)

    page = client.get(verified.get_absolute_url()).content.decode()
    assert "<figcaption>As quoted in <a" in page
    assert 'checked against the text archived on <time datetime="2025-05-19T21:00:00+00:00">' in page
    assert "will \u201c<mark>immediately</mark>\u201d begin" in page

    page = client.get(paraphrase.get_absolute_url()).content.decode()
    assert "As quoted in" not in page and "<mark>" not in page
    assert "<figcaption>Paraphrased from <a" in page
    assert '<p class="paraphrase">talks start now</p>' in page

    page = client.get(reported.get_absolute_url()).content.decode()
    assert "As quoted in" not in page and "<mark>" not in page
    assert "<figcaption>As reported by <a" in page
    assert "<cite>Express &amp; Star</cite>" in page

    page = client.get(unverified.get_absolute_url()).content.decode()
    assert "As quoted in" not in page and "<mark>" not in page
    assert "not yet checked against an archived copy" in page


def test_the_page_reads_only_a_window_of_a_long_archived_text_and_shows_the_quotes_paragraph(
    client, statuses, django_assert_num_queries
):
    far_before = "An early paragraph nobody quotes, about harbour dues. " * 200
    far_after = "A late paragraph nobody quotes, about railway timetables. " * 200
    text = f"{far_before}\n\nThe minister said: \u201cWe will open the bridge in spring.\u201d\n\n{far_after}"
    claim = make_rated_claim(
        source=make_source(archived_text=text), quote="We will open the bridge in spring."
    )

    with django_assert_num_queries(SITE_CLOCK + 2):
        page = client.get(claim.get_absolute_url()).content.decode()
    assert "The minister said: \u201c<mark>We will open the bridge in spring.</mark>\u201d" in page
    assert "harbour dues" not in page and "railway timetables" not in page

    detail = Claim.objects.with_quote_context().get(pk=claim.pk)
    assert len(detail.quote_window) < 2 * 1000 + 100  # never the whole text (over 20,000 characters)


def test_the_api_gives_a_verified_quote_in_its_paragraph_and_the_fidelity(client, statuses):
    source = _article_source()
    verified = make_rated_claim(source=source, speaker=make_speaker(name="Donald Trump"), quote="immediately")
    reported = make_rated_claim(source=source, quote="nine people each", fidelity=Fidelity.REPORTED)

    body = client.get(f"/api/v1/claims/{verified.pk}/").json()
    assert (body["fidelity"], body["quote_verified"]) == ("verbatim", True)
    assert body["quote_context"] == {
        "before": "US President Donald Trump has said Russia and Ukraine will \u201c",
        "quote": "immediately",
        "after": "\u201d begin ceasefire negotiations.",
        "source_url": source.url,
        "captured_at": "2025-05-19T21:00:00Z",
    }
    body = client.get(f"/api/v1/claims/{reported.pk}/").json()
    assert (body["fidelity"], body["quote_verified"], body["quote_context"]) == ("reported", False, None)
    listed = {item["slug"]: item for item in client.get("/api/v1/claims/").json()["results"]}
    assert listed[verified.slug]["quote_verified"] is True
    assert listed[reported.slug]["fidelity"] == "reported"


# The archived text never reaches an anonymous reader ---------------------------------------------------------

SEED_ARTICLE = Path(settings.BASE_DIR) / "fixtures" / "seed_article.txt"


def _public_urls(client: Client) -> list[str]:
    """Every public page and API response of the default data: lists (every page of them), details,
    the schema and the API's docs."""
    urls = ["/", "/claims/", "/api/schema/", "/api/docs/", "/api/v1/statuses/", "/api/v1/changes/"]
    urls += [claim.get_absolute_url() for claim in Claim.objects.published()]
    urls += [f"/api/v1/claims/{pk}/" for pk in Claim.objects.published().values_list("pk", flat=True)]
    urls += [speaker.get_absolute_url() for speaker in Speaker.objects.published()]
    urls += [
        f"/api/v1/speakers/{slug}/" for slug in Speaker.objects.published().values_list("slug", flat=True)
    ]
    urls += [f"/api/v1/sources/{pk}/" for pk in Source.objects.published().values_list("pk", flat=True)]
    for listing in ("/api/v1/claims/", "/api/v1/speakers/", "/api/v1/sources/"):
        url: str | None = listing
        while url:
            urls.append(url)
            url = client.get(url).json()["next"]
    urls += ["/claims/?q=ceasefire", "/api/v1/claims/?q=Putin", "/api/v1/changes/?after=0"]
    return urls


def test_the_archived_text_is_in_no_anonymous_response(client):
    call_command("load_default_data", verbosity=0)
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    quotes = [normalise(q).text for q in Claim.objects.exclude(quote="").values_list("quote", flat=True)]
    # Sentences of the article that no claim quotes, from its start, middle and end.
    sentences = [
        "It was not clear when or where any talks might take place or who would participate.",
        "Mr Trump also spoke to Ukrainian leader Volodymyr Zelensky and European leaders in the hope of "
        "making progress toward a ceasefire.",
        "Mr Ushakov also said Mr Trump and Mr Putin could meet face-to-face at some point",
        "A second phone call involving Mr Trump included leaders from France, Italy and Finland",
        "He urged the international community to maintain pressure on Moscow if it refuses to halt its invasion.",
        "Mr Trump has struggled to end a war that began with Russia\u2019s invasion in February 2022.",
        "Russian presidential adviser Yuri Ushakov, who previously served as Russian ambassador to the US",
    ]
    for sentence in sentences:
        assert sentence in text
        assert not any(quote in normalise(sentence).text for quote in quotes), sentence
    # What the text's JSON escapes would be, too (ensure_ascii or not), and the words of each alone.
    fragments = [
        fragment
        for sentence in sentences
        for fragment in (sentence, sentence.encode("unicode_escape").decode())
    ]

    urls = _public_urls(client)
    assert len(urls) > 40
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for fragment in fragments:
            assert fragment not in body, (url, fragment)
        # The field's name too; the API's schema names it once, as what a key holder may send a new source.
        if url != "/api/schema/":
            assert "archived_text" not in body, url
    # The claim pages show the quoted paragraphs: the check above is not vacuous.
    immediately = client.get("/claims/trump-ceasefire-talks-begin-immediately/").content.decode()
    assert "will \u201c<mark>immediately</mark>\u201d begin ceasefire negotiations" in immediately


def test_staff_read_the_archived_text_in_the_admin(client, statuses):
    source = _article_source()
    make_rated_claim(source=source, quote="immediately")
    snapshot = source.latest_snapshot()
    client.force_login(make_user(editor=True))

    page = client.get(reverse("admin:claims_source_change", args=[source.pk])).content.decode()
    assert snapshot.sha256 in page
    assert reverse("admin:claims_sourcesnapshot_change", args=[snapshot.pk]) in page
    assert "Mr Ushakov said Moscow" not in page  # the source's page lists captures, not their text
    page = client.get(reverse("admin:claims_sourcesnapshot_change", args=[snapshot.pk])).content.decode()
    assert "Mr Ushakov said Moscow and Washington would release nine people each." in page

    client.logout()
    response = client.get(reverse("admin:claims_sourcesnapshot_change", args=[snapshot.pk]))
    assert response.status_code == 302
    assert "Mr Ushakov said" not in response.content.decode()


# The admin ---------------------------------------------------------------------------------------------------


def test_the_claim_form_refuses_a_quote_not_in_the_text_showing_the_closest_passage(django_app, statuses):
    source = _article_source()
    claim = make_rated_claim(source=source, speaker=make_speaker(name="Donald Trump"), quote="immediately")
    before = Claim.objects.values().get(pk=claim.pk)
    django_app.set_user(make_user(editor=True))
    form = django_app.get(reverse("admin:claims_claim_change", args=[claim.pk])).forms["claim_form"]

    form["quote"] = "Moscow and Washington will free nine people each"
    # The claim is rated (public): changing its quote is a correction, with its note.
    form["correction_note"] = "The quote was cut short."
    response = form.submit("_save")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Not found in the archived text of" in page
    assert "Mr Ushakov said Moscow and Washington would release nine people each." in page
    assert Claim.objects.values().get(pk=claim.pk) == before

    form = response.forms["claim_form"]
    assert form["correction_note"].value == "The quote was cut short."  # kept on the refused page
    form["fidelity"] = Fidelity.PARAPHRASE
    assert form.submit("_save").status_code == 302
    claim.refresh_from_db()
    assert (claim.quote, claim.fidelity, claim.quote_verified) == (
        "Moscow and Washington will free nine people each",
        Fidelity.PARAPHRASE,
        False,
    )


def test_the_claim_page_in_the_admin_says_where_the_quote_was_verified(client, statuses):
    claim = make_rated_claim(
        source=_article_source(), speaker=make_speaker(name="Donald Trump"), quote="immediately"
    )
    client.force_login(make_user(editor=True))
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert (
        f"Verified in the archived text of 2025-05-19 21:00 UTC, characters {claim.quote_start} to "
        f"{claim.quote_end}"
    ) in page


def test_a_new_capture_is_added_on_the_sources_page_and_the_old_one_kept(django_app, statuses):
    source = _article_source()
    first = source.latest_snapshot()
    editor = make_user(editor=True)
    django_app.set_user(editor)
    form = django_app.get(reverse("admin:claims_source_change", args=[source.pk])).forms["source_form"]
    # The captures already there are read-only: no field holds their text.
    assert not [name for name in form.fields if name and name.startswith("snapshots-0-") and "text" in name]
    assert not [name for name in form.fields if name and name.startswith("snapshots-0-captured")]

    form["snapshots-2-0-text"] = "The article as corrected.\n"
    form["snapshots-2-0-captured_at_0"] = "2025-05-20"
    form["snapshots-2-0-captured_at_1"] = "08:00:00"
    response = form.submit("_save")

    assert response.status_code == 302
    second = source.latest_snapshot()
    assert second != first
    assert (second.text, second.created_by, second.captured_at) == (
        "The article as corrected.\n",
        editor,
        datetime(2025, 5, 20, 8, 0, tzinfo=UTC),
    )
    assert SourceSnapshot.objects.get(pk=first.pk).text == ARTICLE


@pytest.mark.parametrize("captures", [1, 5])
def test_a_sources_page_costs_the_same_queries_for_1_and_5_captures(
    client, statuses, captures, django_assert_num_queries
):
    source = make_source()
    for n in range(captures):
        archive_source_text(source=source, text=f"Capture {n}. " * 1000)
    client.force_login(make_user(editor=True))
    ContentType.objects.clear_cache()
    # session, user, permissions (2), the source, the captures (never their text), the content type.
    with django_assert_num_queries(7):
        response = client.get(reverse("admin:claims_source_change", args=[source.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert len(re.findall(r'<td class="field-sha256">', page)) == captures
    assert "Capture 0. Capture 0." not in page


# The migration ---------------------------------------------------------------------------------------------------

BEFORE = ("claims", "0012_api_throttle")
SNAPSHOTS = ("claims", "0017_source_snapshots")


def _migrate(target: tuple[str, str]):
    """Migrate the database to `target`; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return MigrationExecutor(connection).loader.project_state(target).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_moves_each_archived_text_into_a_snapshot_and_checks_the_existing_quotes():
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes("claims")[0]
    try:
        old = _migrate(BEFORE)
        speaker = old.get_model("claims", "Speaker").objects.create(name="Donald Trump", slug="trump")
        Source = old.get_model("claims", "Source")
        archived = Source.objects.create(
            title="Talks",
            url="https://news.example/talks",
            archived_text=ARTICLE,
            archived_at=datetime(2025, 5, 19, 21, 0, tzinfo=UTC),
        )
        bare = Source.objects.create(title="Bare", url="https://news.example/bare")
        OldClaim = old.get_model("claims", "Claim")
        common = {"speaker": speaker, "kind": "fact", "said_on": date(2025, 5, 19), "text": "A claim."}
        OldClaim.objects.create(slug="found", source=archived, quote='will "immediately" begin', **common)
        OldClaim.objects.create(slug="not-found", source=archived, quote="at once", **common)
        OldClaim.objects.create(slug="no-text", source=bare, quote="at once", **common)
        OldClaim.objects.create(slug="no-quote", source=archived, quote="", **common)

        new = _migrate(SNAPSHOTS)
        (snapshot,) = new.get_model("claims", "SourceSnapshot").objects.all()
        assert (snapshot.source_id, snapshot.text, snapshot.captured_at) == (
            archived.pk,
            ARTICLE,
            datetime(2025, 5, 19, 21, 0, tzinfo=UTC),
        )
        assert snapshot.sha256 == hashlib.sha256(ARTICLE.encode()).hexdigest()
        claims = {c.slug: c for c in new.get_model("claims", "Claim").objects.all()}
        found = claims["found"]
        assert (found.fidelity, found.quote_snapshot_id) == ("verbatim", snapshot.pk)
        assert ARTICLE[found.quote_start : found.quote_end] == "will \u201cimmediately\u201d begin"
        for slug in ("not-found", "no-text"):  # verbatim, not verified: the page says so until an edit
            assert (claims[slug].fidelity, claims[slug].quote_snapshot_id) == ("verbatim", None)
        assert claims["no-quote"].fidelity == ""
        assert not hasattr(new.get_model("claims", "Source")(), "archived_text")

        old = _migrate(BEFORE)  # and back: the latest capture is the source's text again
        restored = old.get_model("claims", "Source").objects.get(pk=archived.pk)
        assert (restored.archived_text, restored.archived_at) == (
            ARTICLE,
            datetime(2025, 5, 19, 21, 0, tzinfo=UTC),
        )
        assert old.get_model("claims", "Source").objects.get(pk=bare.pk).archived_text == ""
    finally:
        _migrate(leaf)


def test_a_capture_without_a_time_is_captured_now_by_the_database_clock():
    before = datetime.now(UTC)
    snapshot = archive_source_text(source=make_source(), text="Text.")
    assert isinstance(snapshot.captured_at, datetime)  # returned by the insert, not left as an expression
    assert before - timedelta(minutes=1) <= snapshot.captured_at <= datetime.now(UTC) + timedelta(minutes=1)
    assert SourceSnapshot.objects.get(pk=snapshot.pk).captured_at == snapshot.captured_at


@pytest.mark.parametrize("captures", [1, 20])
def test_the_list_of_captures_costs_the_same_queries_for_1_and_20_and_never_reads_a_text(
    client, statuses, captures, django_assert_num_queries
):
    for n in range(captures):
        make_rated_claim(source=make_source(archived_text=f"Capture number {n}. " * 500))
    client.force_login(make_user(editor=True))
    # session, user, permissions (2), count, the page of captures with their sources and lengths.
    with django_assert_num_queries(6) as queries:
        response = client.get(reverse("admin:claims_sourcesnapshot_changelist"))
    assert response.status_code == 200
    for query in queries.captured_queries:  # the text's length is computed in SQL; the text is not read
        assert '"claims_sourcesnapshot"."text"' not in query["sql"].replace(
            'LENGTH("claims_sourcesnapshot"."text")', ""
        )
    page = response.content.decode()
    assert page.count('<td class="field-sha256">') == captures
    assert "Capture number 0. Capture number 0." not in page


# A capture deleted while a publication relies on its source (two connections) ------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("cited_as", ["the claim's source", "evidence"])
def test_a_capture_deleted_while_a_publication_relying_on_its_source_is_under_way_is_refused(
    statuses, cited_as
):
    source = make_source(archived_text=ARTICLE)
    snapshot = source.latest_snapshot()
    claim = make_claim(source=source if cited_as == "the claim's source" else make_source())
    evidence = [EvidenceItem(source=source, note="Shows it.")] if cited_as == "evidence" else []
    refused: list[BaseException] = []

    def delete_the_capture() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '20s'")
                cursor.execute("DELETE FROM claims_sourcesnapshot WHERE id = %s", [snapshot.pk])
        except BaseException as error:  # reported below
            refused.append(error)
        finally:
            connections["default"].close()

    publishing = Held(
        lambda: record_verdict(claim=claim, status=get_status("true"), summary="Checked.", evidence=evidence)
    )
    with publishing:
        deleting = threading.Thread(target=delete_the_capture)
        deleting.start()
        # The delete waits for the publication, which has not committed yet.
        assert wait_until(someone_waits_for_a_lock), "the delete did not wait for the publication"
    deleting.join(timeout=WAIT)
    assert publishing.error is None, publishing.error

    (error,) = refused
    assert isinstance(error, IntegrityError)
    assert "captures are kept" in str(error)
    assert SourceSnapshot.objects.filter(pk=snapshot.pk).exists()
    assert Claim.objects.get(pk=claim.pk).status == get_status("true")
