"""One reader's path through the public pages in a real browser (Debian's chromium, driven by Playwright).

Without /usr/bin/chromium the test is skipped, unless REQUIRE_BROWSER=1 (as in CI), when it fails.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from claims.models import Kind
from claims.services import EvidenceItem, record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_speaker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
        reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
    ),
]


def test_a_reader_searches_from_the_home_page_and_reads_a_claims_timeline(live_server):
    assert CHROMIUM.exists(), "REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium"
    call_command("loaddata", "statuses", verbosity=0)
    source = make_source(
        title="Trump says Russia-Ukraine ceasefire talks to begin",
        publisher="Express & Star",
        archived_text="Mr Ushakov said Moscow and Washington would be releasing nine people each.\n",
    )
    claim = make_claim(
        speaker=make_speaker(name="Yuri Ushakov", role="Russian presidential adviser"),
        source=source,
        slug="prisoner-exchange",
        text="Russia and the US will exchange nine prisoners each.",
        quote="nine people each",
        kind=Kind.PREDICTION,
        said_on=date(2025, 5, 19),
    )
    start = timezone.now() - timedelta(days=2)
    record_verdict(
        claim=claim,
        status=get_status("open"),
        summary="Announced; no date given.",
        evidence=[EvidenceItem(source=source, note="The adviser gave no other details.")],
        published_at=start,
    )
    record_verdict(
        claim=claim,
        status=get_status("kept"),
        summary="Both sides released nine.",
        published_at=start + timedelta(days=1),
    )
    make_rated_claim(text="An unrelated claim about the budget.")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(live_server.url + "/")
            page.get_by_label("Search claims").fill("prisoners")
            page.get_by_role("button", name="Search").click()

            page.wait_for_url("**/claims/?q=prisoners")
            results = page.locator(".claim-row")
            expect(results).to_have_count(1)
            results.get_by_role("link", name="Russia and the US will exchange nine prisoners each.").click()

            page.wait_for_url("**/claims/prisoner-exchange/")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Russia and the US will exchange nine prisoners each."
            )
            expect(page.locator(".status-line")).to_contain_text("Status: Kept")
            expect(page.locator("blockquote mark")).to_have_text("nine people each")
            # Verified against the archived text: "As quoted in", with the link to the original.
            expect(page.locator("figure.quote figcaption")).to_contain_text(
                "As quoted in Trump says Russia-Ukraine ceasefire talks to begin"
            )
            verdicts = page.locator(".timeline > li")
            expect(verdicts).to_have_count(2)
            expect(verdicts.nth(0)).to_contain_text("Both sides released nine.")
            expect(verdicts.nth(1)).to_contain_text("Announced; no date given.")
            expect(verdicts.nth(1)).to_contain_text("The adviser gave no other details.")

            blocks = page.evaluate(
                """() => [...document.querySelectorAll('script[type="application/ld+json"]')]
                        .map((script) => JSON.parse(script.textContent))"""
            )
            assert len(blocks) == 1
            review = blocks[0]
            assert review["@type"] == "ClaimReview"
            assert review["claimReviewed"] == "Russia and the US will exchange nine prisoners each."
            assert review["reviewRating"]["alternateName"] == "Kept"
            assert review["url"] == page.url
        finally:
            browser.close()
