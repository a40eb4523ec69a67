"""The editors' admin in a real browser (Debian's chromium, driven by Playwright): what the page's own
script does (the slug filled in as the text is typed) and how the lists fit a laptop's screen.

Without /usr/bin/chromium the tests are skipped, unless REQUIRE_BROWSER=1 (as in CI), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from claims.models import Claim, slug_for
from claims.services import save_claim
from tests.factories import make_claim, make_user
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
        reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
    ),
]

# A laptop's screen: the lists must fit it without a sideways scroll.
LAPTOP = {"width": 1280, "height": 800}


@contextmanager
def editor_page(live_server, editor: User | None = None) -> Iterator[Page]:
    """A browser page at a laptop's size, logged in to the admin as `editor` (default: a member of the
    Editors group).

    Make the test's data first: the database cannot be used while Playwright's loop runs.
    """
    assert CHROMIUM.exists(), "REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium"
    editor = editor or make_user(editor=True, username="ada")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(live_server.url + reverse("admin:login"))
            page.get_by_label("Username").fill(editor.username)
            page.get_by_label("Password").fill("a-long-test-password")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{live_server.url}{reverse('admin:index')}")
            yield page
        finally:
            browser.close()


def sideways_overflow(page: Page) -> dict[str, int]:
    """How wide the changelist's table and the page are, and how much room they have, in CSS pixels."""
    return page.evaluate(
        """() => {
            const results = document.querySelector('#changelist .results');
            return {
                table: results.scrollWidth, room: results.clientWidth,
                page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth,
            };
        }"""
    )


CHANGELISTS = ["statuschange", "status", "claim", "verdict", "evidence", "source", "speaker", "correction"]


def test_every_list_fits_a_laptop_screen_without_a_sideways_scroll(live_server):
    call_command("load_default_data", verbosity=0)
    make_claim(slug="unrated-claim")  # a claim with no status, shown as such in the list
    published = Claim.objects.published().first()
    published.text += " (as corrected)"
    save_claim(
        claim=published,
        correction_note="The first version of this claim left out a qualifier the speaker gave in the same "
        "sentence; the text now carries it, as the archived article shows.",
    )
    with editor_page(live_server) as page:
        overflowing = {}
        for model in CHANGELISTS:
            page.goto(live_server.url + reverse(f"admin:claims_{model}_changelist"))
            expect(page.locator("#result_list tbody tr").first).to_be_visible()
            sizes = sideways_overflow(page)
            assert sizes["room"] > 500, sizes  # the list is there, beside the two sidebars
            if sizes["table"] > sizes["room"] or sizes["page"] > sizes["window"]:
                overflowing[model] = sizes
    assert overflowing == {}


# Numbers as the admin's script fills a slug in; the server makes the same from the same text.
SLUG_TEXTS = [
    "Unemployment fell by 1.5 million",
    "Inflation was 3.2% in 2024, down from 10.1%",
    "The 9/11 commission met 1,000 times",
    "Talks will begin immediately",
    "Version 2.0 ships on 1 June.",
    "Russia\u2013Ukraine talks: 16 May 2025",
]


def test_the_slug_is_filled_in_as_the_text_is_typed_keeping_numbers_apart(live_server):
    with editor_page(live_server) as page:
        page.goto(live_server.url + reverse("admin:claims_claim_add"))
        page.locator("#id_text").press_sequentially("Costs rose by 1.5 million")
        expect(page.locator("#id_slug")).to_have_value("costs-rose-by-1-5-million")

        in_the_browser = page.evaluate("(texts) => texts.map((text) => URLify(text, 200, false))", SLUG_TEXTS)
    assert in_the_browser == [slug_for(text) for text in SLUG_TEXTS]
    assert in_the_browser[:3] == [
        "unemployment-fell-by-1-5-million",
        "inflation-was-3-2-in-2024-down-from-10-1",
        "the-9-11-commission-met-1-000-times",
    ]


def test_a_saved_claims_slug_stays_as_it_is_when_its_text_is_edited(live_server):
    claim = make_claim(slug="costs-rose-by-15-million", text="Costs rose by 1.5 million.")
    with editor_page(live_server) as page:
        page.goto(live_server.url + reverse("admin:claims_claim_change", args=[claim.pk]))
        page.locator("#id_text").fill("")
        page.locator("#id_text").press_sequentially("Costs rose by 2.5 million.")
        expect(page.locator("#id_slug")).to_have_value("costs-rose-by-15-million")


def test_speaker_and_status_slugs_keep_numbers_apart_too(live_server):
    with editor_page(live_server) as page:
        page.goto(live_server.url + reverse("admin:claims_speaker_add"))
        page.locator("#id_name").press_sequentially("Channel 4.5 News")
        expect(page.locator("#id_slug")).to_have_value("channel-4-5-news")
    # Statuses are the newsroom's policy: superusers add them, editors cannot.
    chief = make_user(is_staff=True, is_superuser=True, username="chief")
    with editor_page(live_server, chief) as page:
        page.goto(live_server.url + reverse("admin:claims_status_add"))
        page.locator("#id_label").press_sequentially("Kept 1.5 times")
        expect(page.locator("#id_slug")).to_have_value("kept-1-5-times")


def test_an_editors_draft_is_reviewed_previewed_and_published_by_a_reviewer(live_server):
    # The editor's story end to end (README, "Review before publication"): record, review, publish.
    call_command("loaddata", "statuses", verbosity=0)
    claim = make_claim(text="Talks will begin immediately.", slug="talks-begin-immediately")
    editor = make_user(editor=True, username="ada", first_name="Ada", last_name="Editor")
    reviewer = make_user(reviewer=True, username="rita")

    with editor_page(live_server, editor) as page:
        page.goto(live_server.url + reverse("admin:claims_claim_change", args=[claim.pk]))
        expect(page.locator("#id_verdicts-2-0-publish")).to_have_count(0)  # no "Publish now" for anyone
        page.locator("#id_verdicts-2-0-status").select_option(label="Unverified (accuracy)")
        page.locator("#id_verdicts-2-0-summary").fill("No talks have been scheduled yet.")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".messagelist")).to_contain_text("awaiting review")

    with editor_page(live_server, reviewer) as page:
        queue = page.locator("#awaiting-review")
        expect(queue).to_contain_text("Talks will begin immediately.")
        expect(queue).to_contain_text("Ada Editor")
        queue.get_by_role("link", name="Talks will begin immediately.").click()

        page.get_by_role("link", name="Preview on the site").first.click()
        expect(page.locator(".preview-banner")).to_contain_text(
            "Preview — this verdict is a draft, not public."
        )
        expect(page.locator(".timeline")).to_contain_text("No talks have been scheduled yet.")
        page.go_back()

        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".messagelist")).to_contain_text(
            "Published: the claim's status is now “Unverified”."
        )
        page.goto(live_server.url + "/claims/talks-begin-immediately/")
        expect(page.locator(".status-line")).to_contain_text("Unverified")
        expect(page.locator(".preview-banner")).to_have_count(0)
        expect(page.locator("#awaiting-review")).to_have_count(0)
