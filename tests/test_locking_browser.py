"""Two editors colliding in real browsers (Debian's chromium, driven by Playwright): two browser contexts,
each logged in as its own editor, against the live server. Nothing either of them typed is lost.

Without /usr/bin/chromium the tests are skipped, unless REQUIRE_BROWSER=1 (as in CI), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect, sync_playwright

from claims.models import Kind
from tests.factories import get_status, make_claim, make_rated_claim, make_user
from tests.test_admin_browser import LAPTOP
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
        reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
    ),
]

NEW_VERDICT = "[name^='verdicts'][name$='-0-{}']:not([name*='__prefix__'])"


def logged_in(browser: Browser, live_server, user: User) -> Page:
    """A page in a browser context of its own (its own cookies), logged in to the admin as `user`."""
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{reverse('admin:index')}")
    return page


@contextmanager
def two_editors(live_server) -> Iterator[tuple[Page, Page]]:
    """Ada's and Grace's pages, two editors in two browser contexts. Make the test's data first: the
    database cannot be used while Playwright's loop runs."""
    assert CHROMIUM.exists(), "REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium"
    # Ada publishes: every permission, should publishing become a reviewer's (the review workflow).
    ada = make_user(editor=True, is_superuser=True, username="ada", first_name="Ada", last_name="Lovelace")
    grace = make_user(editor=True, username="grace", first_name="Grace", last_name="Hopper")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield logged_in(browser, live_server, ada), logged_in(browser, live_server, grace)
        finally:
            browser.close()


def save(page: Page) -> None:
    page.locator("input[name=_save]").click()


def test_two_editors_saving_one_claim_the_second_sees_who_changed_what_and_keeps_their_text(live_server):
    claim = make_claim(text="The old text.", quote="The old quote.")
    url = live_server.url + reverse("admin:claims_claim_change", args=[claim.pk])

    with two_editors(live_server) as (ada, grace):
        ada.goto(url)
        grace.goto(url)
        ada.locator("#id_quote").fill("Ada's quote.")
        save(ada)
        expect(ada.locator(".messagelist")).to_contain_text("was changed successfully")

        grace.locator("#id_text").fill("Grace's text.")
        save(grace)
        refusal = grace.locator(".errorlist.nonfield")
        expect(refusal).to_contain_text("Since you opened this page, Ada Lovelace changed Quote")
        expect(refusal).to_contain_text("Quote is now: “Ada's quote.”")
        expect(grace.locator("#id_text")).to_have_value("Grace's text.")
        expect(grace.locator("#id_quote")).to_have_value("Ada's quote.")
        ada.goto(url)  # nothing was written: Ada sees the text as it was
        expect(ada.locator("#id_text")).to_have_value("The old text.")

        save(grace)
        expect(grace.locator(".messagelist")).to_contain_text("was changed successfully")

    claim.refresh_from_db()
    assert (claim.text, claim.quote) == ("Grace's text.", "Ada's quote.")


def test_a_verdict_recorded_after_another_editor_published_one_is_refused_with_the_typing_kept(
    live_server, statuses, settings
):
    # Ada publishes from the claim's page at once: review off (with it on, nobody publishes from there). A
    # promise, whose status moves freely (a fact's changed rating would need a reason: a correction).
    settings.REVIEW_REQUIRED = False
    claim = make_rated_claim(status=get_status("open"), kind=Kind.PROMISE)
    url = live_server.url + reverse("admin:claims_claim_change", args=[claim.pk])
    kept, in_progress = str(get_status("kept").pk), str(get_status("in-progress").pk)

    with two_editors(live_server) as (ada, grace):
        ada.goto(url)
        grace.goto(url)
        ada.locator(NEW_VERDICT.format("status")).select_option(kept)
        ada.locator(NEW_VERDICT.format("summary")).fill("Ada: the record shows it.")
        save(ada)
        expect(ada.locator(".messagelist")).to_contain_text("Published: the claim's status is now “Kept”.")

        grace.locator(NEW_VERDICT.format("status")).select_option(in_progress)
        grace.locator(NEW_VERDICT.format("summary")).fill("Grace: mostly, with a caveat.")
        # Grace, an editor, is offered no "Publish now": her verdict is a draft.
        expect(grace.locator(NEW_VERDICT.format("publish"))).to_have_count(0)
        save(grace)
        expect(grace.locator(".inline-group .errorlist.nonfield")).to_contain_text(
            "Ada Lovelace published a verdict: the claim's status is now “Kept”"
        )
        expect(grace.locator(NEW_VERDICT.format("summary"))).to_have_value("Grace: mostly, with a caveat.")
        expect(grace.locator(NEW_VERDICT.format("status"))).to_have_value(in_progress)
        ada.goto(url)  # nothing was recorded: the timeline has Ada's verdict on top, no draft
        expect(ada.locator("#verdicts-group")).to_contain_text("Ada: the record shows it.")
        expect(ada.locator("#verdicts-group")).not_to_contain_text("Grace")

        save(grace)
        expect(grace.locator(".messagelist")).to_contain_text("Saved a draft verdict “In progress”")

    claim.refresh_from_db()
    assert claim.status.slug == "kept"
    assert claim.verdicts.drafts().get().summary == "Grace: mostly, with a caveat."
