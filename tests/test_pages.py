from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import urlencode

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from claims.models import Fidelity, Kind
from claims.quotes import QUOTE_CONTEXT_CHARS, quote_in_context
from claims.services import EvidenceItem, record_verdict
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_source,
    make_speaker,
)

pytestmark = pytest.mark.django_db

ARTICLE = (
    "Trump says Russia-Ukraine ceasefire talks to begin \u2018immediately\u2019\n"
    "\n"
    "US President Donald Trump has said Russia and Ukraine will “immediately” begin ceasefire "
    "negotiations after an “excellent” call.\n"
    "\n"
    "Mr Ushakov said Moscow and Washington would release nine people each. He offered no details.\n"
)


def get_html(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def claim_links(html: str) -> list[str]:
    """The claim pages a list links to, in order."""
    return re.findall(r'<a class="claim-text" href="/claims/([^/"]+)/">', html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return unescape(found.group(1)) if found else None


# The home page -------------------------------------------------------------------------------------


def test_home_lists_the_latest_status_changes_newest_first(client, statuses):
    claim = make_claim(text="Talks will begin immediately.", kind=Kind.PREDICTION)
    record_verdict(claim=claim, status=get_status("open"), summary="Announced.")
    record_verdict(claim=claim, status=get_status("stalled"), summary="Nothing since.")
    other = make_rated_claim(status=get_status("true"), text="The talks were the first since 2022.")

    html = get_html(client, "/")

    assert claim_links(html) == [other.slug, claim.slug, claim.slug]
    changes = re.findall(r'<p class="change">(.*?)</p>', html, re.DOTALL)
    assert "First rated" in changes[0] and ">True<" in changes[0]
    assert ">Open<" in changes[1] and "changed to" in changes[1] and ">Stalled<" in changes[1]
    assert "First rated" in changes[2] and ">Open<" in changes[2]


def test_home_counts_published_claims_per_status_and_links_to_them(client, statuses):
    make_rated_claim(status=get_status("false"))
    make_rated_claim(status=get_status("false"))
    make_rated_claim(status=get_status("kept"), kind=Kind.PROMISE)
    make_claim()  # not published: not counted

    html = get_html(client, "/")

    counts = dict(
        re.findall(
            r'href="/claims/\?status=([\w-]+)"><span class="badge"[^>]*>[^<]+</span>\s*</a>\s*'
            r'<span class="count">(\d+) claims?</span>',
            html,
        )
    )
    assert counts["false"] == "2"
    assert counts["kept"] == "1"
    assert counts["true"] == "0"
    assert len(counts) == 12


def test_home_costs_three_queries_for_one_change_or_many(client, statuses, django_assert_num_queries):
    # The latest changes, the status counts, and the overdue claims with their (bounded) count.
    make_rated_claims(1)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/"))) == 1
    make_rated_claims(15)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/"))) == 10


def test_home_has_a_search_form_for_the_claim_list(client, statuses):
    html = get_html(client, "/")

    assert '<form class="search" role="search" method="get" action="/claims/">' in html
    assert '<label for="search-q">Search claims</label>' in html
    assert 'id="search-q" type="search" name="q"' in html


# The layout ----------------------------------------------------------------------------------------


def test_every_page_has_the_accessible_layout_and_the_stylesheet(client, statuses):
    claim = make_rated_claim()
    for url in ("/", "/claims/", claim.get_absolute_url(), claim.speaker.get_absolute_url()):
        html = get_html(client, url)
        assert '<html lang="en-GB">' in html
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert '<a class="skip-link" href="#content">Skip to content</a>' in html
        for landmark in ("<header", "<nav", '<main id="content"', "<footer"):
            assert landmark in html
        assert html.count("<h1") == 1
        assert '<link rel="stylesheet" href="/static/claims/site.css">' in html
        assert re.search(r"<title>[^<]+ — factcheck</title>", html)
        levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert finders.find("claims/site.css")


# The claim list ------------------------------------------------------------------------------------


def test_the_claim_list_shows_published_claims_latest_change_first(client, statuses):
    older, newer = make_rated_claims(2)
    draft = make_claim()
    record_verdict(claim=draft, status=get_status("true"), summary="Not yet.", publish=False)

    html = get_html(client, "/claims/")

    assert claim_links(html) == [newer.slug, older.slug]
    assert draft.slug not in html
    assert f'<a href="/speakers/{newer.speaker.slug}/">{newer.speaker.name}</a>' in html


def test_search_finds_claims_by_text_quote_and_speaker_ranked(client, statuses):
    by_text = make_rated_claim(text="Ceasefire negotiations will begin immediately.")
    by_quote = make_rated_claim(text="Talks are coming.", quote="a ceasefire is near")
    by_speaker = make_rated_claim(speaker=make_speaker(name="Volodymyr Zelensky"))
    make_rated_claim(text="Nothing to do with it.")

    assert claim_links(get_html(client, "/claims/?q=ceasefire")) == [by_text.slug, by_quote.slug]
    assert claim_links(get_html(client, "/claims/?q=zelensky")) == [by_speaker.slug]


@pytest.mark.parametrize(
    "q",
    [
        '"nine people each"',
        "'unbalanced quote",
        "&|!:*()",
        "a & b | !c :* (d)",
        "<b>bold</b>",
        "Зеленский 停火 😀 café",
        "-",
        "or",
        "x" * 1000,
        "word " * 250,
    ],
)
def test_any_search_text_gets_an_answer(client, statuses, q):
    make_rated_claim(text="Moscow and Washington will release nine people each.")

    html = get_html(client, "/claims/?" + urlencode({"q": q}))

    assert "<b>bold</b>" not in html
    assert 'name="q" value="' in html


def test_search_text_is_shown_escaped_back_in_the_form(client, statuses):
    html = get_html(client, "/claims/?" + urlencode({"q": '"><script>alert(1)</script>'}))

    assert "<script>alert(1)" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_a_phrase_search_finds_the_quote(client, statuses):
    claim = make_rated_claim(quote="releasing nine people each")
    make_rated_claim(quote="nine of them, each one")

    assert claim_links(get_html(client, "/claims/?" + urlencode({"q": '"nine people each"'}))) == [claim.slug]


def test_filters_by_status_speaker_and_kind(client, statuses):
    speaker = make_speaker(slug="jd-vance")
    false_fact = make_rated_claim(status=get_status("false"), speaker=speaker)
    true_fact = make_rated_claim(status=get_status("true"))
    promise = make_rated_claim(status=get_status("open"), kind=Kind.PROMISE, speaker=speaker)

    assert claim_links(get_html(client, "/claims/?status=false")) == [false_fact.slug]
    assert claim_links(get_html(client, "/claims/?status=true")) == [true_fact.slug]
    assert claim_links(get_html(client, "/claims/?speaker=jd-vance")) == [promise.slug, false_fact.slug]
    assert claim_links(get_html(client, "/claims/?kind=promise")) == [promise.slug]
    assert claim_links(get_html(client, "/claims/?speaker=jd-vance&kind=fact")) == [false_fact.slug]


def test_the_filter_form_is_labelled_and_keeps_the_choices(client, statuses):
    speaker = make_speaker(slug="jd-vance", name="JD Vance")
    make_rated_claim(speaker=speaker)

    html = get_html(client, "/claims/?q=talks&status=misleading&kind=fact&speaker=jd-vance")

    for control in ("filter-q", "filter-status", "filter-kind"):
        assert f'<label for="{control}">' in html
        assert f'id="{control}"' in html
    assert 'name="q" value="talks"' in html
    assert '<option value="misleading" selected>Misleading</option>' in html
    assert '<option value="fact" selected>Fact</option>' in html
    assert '<input type="hidden" name="speaker" value="jd-vance">' in html
    assert "<h1>Claims by JD Vance</h1>" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=no-such-status", "There is no status “no-such-status”."),
        ("speaker=nobody", "There is no speaker “nobody” with published claims."),
        ("kind=rumour", "There is no kind of claim “rumour”."),
        ("status=%3Cb%3E", "There is no status “&lt;b&gt;”."),
    ],
)
def test_an_unknown_filter_value_says_so_and_lists_nothing(client, statuses, query, message):
    make_rated_claim()

    html = get_html(client, f"/claims/?{query}")

    assert message in html
    assert claim_links(html) == []


def test_a_search_without_matches_says_so(client, statuses):
    make_rated_claim()

    html = get_html(client, "/claims/?q=zanzibar")

    assert "No claims match “zanzibar”." in html


def test_the_list_pages_by_cursor_with_older_and_newer_links(client, statuses):
    claims = make_rated_claims(25)
    newest_first = [c.slug for c in reversed(claims)]

    first = get_html(client, "/claims/")
    assert claim_links(first) == newest_first[:20]
    assert link(first, "prev") is None
    older = link(first, "next")
    assert older.startswith("/claims/?cursor=")

    second = get_html(client, older)
    assert claim_links(second) == newest_first[20:]
    assert link(second, "next") is None
    assert claim_links(get_html(client, link(second, "prev"))) == newest_first[:20]


def test_page_links_keep_the_search_and_filters(client, statuses):
    speaker = make_speaker(slug="the-speaker")
    claims = make_rated_claims(4, kind=Kind.PROMISE, speaker=speaker, text="A ceasefire will come.")
    make_rated_claims(3, kind=Kind.FACT, speaker=speaker, text="A ceasefire came.")
    newest_first = [c.slug for c in reversed(claims)]

    first = get_html(client, "/claims/?q=ceasefire&kind=promise&speaker=the-speaker&page_size=3")
    older = link(first, "next")
    assert "q=ceasefire" in older and "kind=promise" in older and "speaker=the-speaker" in older
    assert "page_size=3" in older
    assert claim_links(first) == newest_first[:3]
    assert claim_links(get_html(client, older)) == newest_first[3:]


@pytest.mark.parametrize(
    ("page_size", "rows"), [("abc", 20), ("0", 20), ("-3", 20), ("", 20), ("5", 5), ("500", 22)]
)
def test_a_bad_page_size_falls_back_to_the_default(client, statuses, page_size, rows):
    make_rated_claims(22)

    assert len(claim_links(get_html(client, f"/claims/?page_size={page_size}"))) == rows


def test_a_nul_byte_in_the_search_is_refused_not_a_server_error(client, statuses):
    assert client.get("/claims/?q=a%00b").status_code == 400


@pytest.mark.parametrize(
    "query",
    ["", "?q=claim", "?status=false", "?kind=fact", "?q=claim&status=false&kind=fact&page_size=50"],
)
def test_the_list_costs_two_queries_for_one_claim_or_many(client, statuses, django_assert_num_queries, query):
    make_rated_claims(1, status=get_status("false"), text="A claim to find.")
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert len(claim_links(get_html(client, f"/claims/{query}"))) == 1
    make_rated_claims(30, status=get_status("false"), text="Another claim to find.")
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert len(claim_links(get_html(client, f"/claims/{query}"))) >= 20


def test_the_list_by_speaker_costs_three_queries_for_one_claim_or_many(
    client, statuses, django_assert_num_queries
):
    speaker = make_speaker(slug="prolific")
    make_rated_claims(1, speaker=speaker)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/claims/?speaker=prolific&q=claim"))) == 1
    make_rated_claims(30, speaker=speaker)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/claims/?speaker=prolific&q=claim"))) == 20


# One claim -----------------------------------------------------------------------------------------


def test_the_claim_page_shows_the_claim_its_speaker_source_and_status(client, statuses):
    speaker = make_speaker(name="Donald Trump", slug="donald-trump", role="US President")
    source = make_source(
        title="Talks to begin \u2018immediately\u2019",
        publisher="Express & Star",
        url="https://news.example/talks",
        published_on=date(2025, 5, 19),
        archived_text=ARTICLE,
    )
    claim = make_claim(
        speaker=speaker,
        source=source,
        slug="talks-immediately",
        text="Russia and Ukraine will begin ceasefire talks immediately.",
        quote="immediately",
        kind=Kind.PREDICTION,
        said_on=date(2025, 5, 19),
        due_on=date(2025, 6, 2),
    )
    record_verdict(claim=claim, status=get_status("open"), summary="No date, venue or participants.")

    html = get_html(client, "/claims/talks-immediately/")

    assert "<h1>Russia and Ukraine will begin ceasefire talks immediately.</h1>" in html
    assert '<a href="/speakers/donald-trump/">Donald Trump</a>, US President' in html
    assert (
        '<a href="https://news.example/talks" rel="external noopener">Talks to begin \u2018immediately\u2019</a>, '
        'Express &amp; Star, <time datetime="2025-05-19">19 May 2025</time>'
    ) in html
    assert '<span class="status-label">Status:</span>' in html
    assert '<span class="badge badge-large" style="--status-colour: #4b5563">Open</span>' in html
    assert '<dt>Said on</dt>\n        <dd><time datetime="2025-05-19">19 May 2025</time></dd>' in html
    assert '<dd><time datetime="2025-06-02">2 June 2025</time></dd>' in html
    # The quote in its sentence (not the headline that repeats it), highlighted, as verified.
    assert (
        "<p>US President Donald Trump has said Russia and Ukraine will “<mark>immediately</mark>” begin "
        "ceasefire negotiations after an “excellent” call.</p>"
    ) in html
    assert "<figcaption>As quoted in <a" in html


def test_a_verbatim_quote_not_verified_is_shown_alone_and_said_to_be_unchecked(client, statuses):
    # Written as a claim from before quotes were checked is (save_claim would refuse it): verbatim, no offsets.
    claim = make_rated_claim(
        quote="words the article never had",
        fidelity=Fidelity.VERBATIM,
        source=make_source(archived_text=ARTICLE),
    )

    html = get_html(client, claim.get_absolute_url())

    assert "<p>words the article never had</p>" in html
    assert "<mark>" not in html
    assert "not yet checked against an archived copy of the source" in html
    assert "As quoted in" not in html


def test_a_claim_without_a_quote_has_no_quote_section(client, statuses):
    claim = make_rated_claim(quote="", source=make_source(archived_text=ARTICLE))

    html = get_html(client, claim.get_absolute_url())

    assert "What was said" not in html
    assert "<blockquote" not in html


def test_the_timeline_lists_published_verdicts_newest_first_with_evidence(client, statuses):
    claim = make_claim(kind=Kind.PROMISE)
    report = make_source(title="The report", publisher="Reuters", url="https://news.example/report")
    start = timezone.now() - timedelta(days=3)
    record_verdict(
        claim=claim,
        status=get_status("open"),
        summary="Announced.",
        explanation="First paragraph.\n\nSecond <em>paragraph</em>.",
        evidence=[EvidenceItem(source=report, note="Says it was announced.")],
        published_at=start,
    )
    record_verdict(
        claim=claim, status=get_status("kept"), summary="Done.", published_at=start + timedelta(days=1)
    )
    record_verdict(claim=claim, status=get_status("broken"), summary="A draft, not public.", publish=False)

    html = get_html(client, claim.get_absolute_url())

    timeline = html[html.index('<ol class="timeline">') :]
    assert re.findall(r'<p class="summary">([^<]+)</p>', timeline) == ["Done.", "Announced."]
    assert "A draft, not public." not in html
    assert ">Kept</span>" in timeline and ">Open</span>" in timeline
    assert "<p>First paragraph.</p>\n\n<p>Second &lt;em&gt;paragraph&lt;/em&gt;.</p>" in timeline
    assert '<a href="https://news.example/report" rel="external noopener">The report</a>, Reuters' in timeline
    assert "<p>Says it was announced.</p>" in timeline
    assert '<span class="badge badge-large" style="--status-colour: #15803d">Kept</span>' in html


def test_claim_text_is_escaped_on_the_page(client, statuses):
    claim = make_rated_claim(text="<b>Bold</b> & <i>claims</i>", quote="<script>x</script>")

    html = get_html(client, claim.get_absolute_url())

    assert "<h1>&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;i&gt;claims&lt;/i&gt;</h1>" in html
    assert "<script>x</script>" not in html


def test_an_unknown_or_unpublished_claim_is_a_404(client, statuses):
    unpublished = make_claim(slug="not-yet")
    record_verdict(claim=unpublished, status=get_status("true"), summary="Draft.", publish=False)

    get_html(client, "/claims/not-yet/", status=404)
    get_html(client, "/claims/no-such-claim/", status=404)


def test_the_claim_page_costs_two_queries_for_one_verdict_or_five_with_evidence(
    client, statuses, django_assert_num_queries
):
    one = make_rated_claim()
    with django_assert_num_queries(SITE_CLOCK + 2):
        html = get_html(client, one.get_absolute_url())
    assert html.count('<li class="verdict">') == 1

    many = make_claim()
    for i, slug in enumerate(["unverified", "false", "mostly-false", "misleading", "true"]):
        record_verdict(
            claim=many,
            status=get_status(slug),
            summary=f"Verdict {i}.",
            evidence=[EvidenceItem(source=make_source(), note=f"Note {i}.{n}") for n in range(3)],
            correction_note=f"Re-checked, round {i}.",
        )
    with django_assert_num_queries(SITE_CLOCK + 2):
        html = get_html(client, many.get_absolute_url())
    assert html.count('<li class="verdict">') == 5
    assert html.count("<p>Note ") == 15
    # The corrections (every rating after Unverified's first) come in the claim's own query.
    assert html.count("Corrected on ") == 3


# The quote in its context --------------------------------------------------------------------------


def test_the_quote_is_found_across_line_breaks_and_spacing():
    found = quote_in_context("nine people  each", "They said:\nrelease nine\npeople each, today.")

    assert found is not None
    assert (found.before, found.quote, found.after) == ("release ", "nine\npeople each", ", today.")


def test_a_quote_repeated_in_a_headline_is_shown_in_the_speakers_sentence():
    found = quote_in_context("immediately", ARTICLE, "Donald Trump")

    assert found.before.startswith("US President Donald Trump has said")
    assert found.quote == "immediately"


def test_a_long_paragraph_is_cut_at_sentence_ends_around_the_quote():
    filler = "This sentence pads the paragraph. " * 40
    found = quote_in_context("the quote", f"{filler}Here is the quote in its sentence. {filler}")

    assert found.before.startswith("… ")
    assert found.after.endswith(" …")
    assert len(found.before) <= QUOTE_CONTEXT_CHARS + 40
    assert found.after.startswith(" in its sentence.")


def test_an_empty_or_missing_quote_has_no_context():
    assert quote_in_context("", ARTICLE) is None
    assert quote_in_context("not in there", ARTICLE) is None
    assert quote_in_context("immediately", "") is None


# One speaker ---------------------------------------------------------------------------------------


def test_the_speaker_page_lists_their_claims_with_a_count_per_status(client, statuses):
    speaker = make_speaker(name="JD Vance", slug="jd-vance", role="US Vice President")
    first = make_rated_claim(status=get_status("false"), speaker=speaker)
    second = make_rated_claim(status=get_status("false"), speaker=speaker)
    third = make_rated_claim(status=get_status("open"), speaker=speaker, kind=Kind.PROMISE)
    hidden = make_claim(speaker=speaker)
    someone_else = make_rated_claim(status=get_status("true"))

    html = get_html(client, "/speakers/jd-vance/")

    assert "<h1>JD Vance</h1>" in html
    assert "US Vice President" in html
    assert claim_links(html) == [third.slug, second.slug, first.slug]
    assert hidden.slug not in html and someone_else.slug not in html
    counts = dict(re.findall(r">([\w ]+)</span>\s*</a>\s*<span class=\"count\">(\d+)</span>", html))
    assert counts == {"False": "2", "Open": "1"}
    assert 'href="/claims/?speaker=jd-vance&amp;status=false"' in html


def test_a_speaker_without_published_claims_or_unknown_is_a_404(client, statuses):
    speaker = make_speaker(slug="quiet")
    make_claim(speaker=speaker)

    get_html(client, "/speakers/quiet/", status=404)
    get_html(client, "/speakers/nobody/", status=404)


def test_the_speaker_page_pages_their_claims(client, statuses):
    speaker = make_speaker(slug="prolific")
    claims = make_rated_claims(23, speaker=speaker)

    first = get_html(client, "/speakers/prolific/")
    assert len(claim_links(first)) == 20
    older = link(first, "next")
    assert older.startswith("/speakers/prolific/?cursor=")
    assert claim_links(get_html(client, older)) == [c.slug for c in reversed(claims[:3])]


def test_the_speaker_page_costs_three_queries_for_one_claim_or_many(
    client, statuses, django_assert_num_queries
):
    speaker = make_speaker(slug="prolific")
    make_rated_claims(1, speaker=speaker)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/speakers/prolific/"))) == 1
    make_rated_claims(25, speaker=speaker, kind=Kind.PROMISE)
    with django_assert_num_queries(SITE_CLOCK + 3):
        assert len(claim_links(get_html(client, "/speakers/prolific/"))) == 20
