"""The Content-Security-Policy: on every response, and what it lets through in a real browser (Chromium)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from playwright.sync_api import Page, expect, sync_playwright

from factcheck.middleware import CSPMiddleware
from tests.factories import make_rated_claim, make_source, make_user
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

THE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(response) -> dict[str, list[str]]:
    return parse_policy(response["Content-Security-Policy"])


def parse_policy(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_policy(client, statuses):
    claim = make_rated_claim(slug="a-claim")
    staff = Client()
    staff.force_login(make_user(is_staff=True, is_superuser=True))
    responses = {
        "home": client.get("/"),
        "claim list": client.get("/claims/"),
        "claim": client.get(claim.get_absolute_url()),
        "speaker": client.get(claim.speaker.get_absolute_url()),
        "page not found": client.get("/claims/no-such-claim/"),
        "refused request": client.get("/claims/?q=%00"),
        "admin login": client.get("/admin/login/"),
        "admin index": staff.get("/admin/"),
        "admin change list": staff.get("/admin/claims/claim/"),
        "admin change form": staff.get(f"/admin/claims/claim/{claim.pk}/change/"),
        "API list": client.get("/api/v1/claims/"),
        "API detail": client.get(f"/api/v1/claims/{claim.pk}/"),
        "API error": client.get("/api/v1/claims/?status=no-such-status"),
        "API as a page": client.get("/api/v1/claims/", HTTP_ACCEPT="text/html"),
        "schema": client.get("/api/schema/"),
        "API docs": client.get("/api/docs/"),
        "API docs' script": client.get("/api/docs/?script="),
        # The probes answer before the host check: with an IP address as the Host, as a load balancer sends.
        "liveness probe": client.get("/healthz", HTTP_HOST="10.0.3.7"),
        "readiness probe": client.get("/readyz", HTTP_HOST="10.0.3.7"),
    }
    assert {name: response.status_code for name, response in responses.items()} == {
        **dict.fromkeys(responses, 200),
        "page not found": 404,
        "refused request": 400,
        "API error": 400,
    }
    docs = {"API docs", "API docs' script"}
    for name, response in responses.items():
        if name not in docs:
            assert policy(response) == THE_POLICY, name
    # Swagger UI's stylesheet draws its icons as data: images; no other page allows them.
    for name in docs:
        assert policy(responses[name]) == {**THE_POLICY, "img-src": ["'self'", "data:"]}, name


def _django_csp_response(request, response):
    """What django-csp's own middleware writes on `response`."""
    return DjangoCSPMiddleware(lambda request: response).process_response(request, response)


@pytest.mark.parametrize("path", ["/", "/api/v1/claims/", "/admin/login/"])
def test_the_policy_built_once_is_django_csps(rf, path):
    ours = CSPMiddleware(lambda request: HttpResponse()).process_response(rf.get(path), HttpResponse())
    theirs = _django_csp_response(rf.get(path), HttpResponse())

    assert ours["Content-Security-Policy"] == theirs["Content-Security-Policy"]
    assert ("Content-Security-Policy-Report-Only" in ours) is (
        "Content-Security-Policy-Report-Only" in theirs
    )


def test_the_policy_follows_the_settings(rf, settings):
    middleware = CSPMiddleware(lambda request: HttpResponse())
    middleware.process_response(rf.get("/"), HttpResponse())  # built once, from the settings then
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}

    response = middleware.process_response(rf.get("/"), HttpResponse())
    theirs = _django_csp_response(rf.get("/"), HttpResponse())

    assert response["Content-Security-Policy"] == theirs["Content-Security-Policy"] == "default-src 'none'"
    assert response["Content-Security-Policy-Report-Only"] == theirs["Content-Security-Policy-Report-Only"]
    assert "img-src 'self'" in response["Content-Security-Policy-Report-Only"]


def test_a_views_own_policy_and_exemption_are_django_csps(rf):
    middleware = CSPMiddleware(lambda request: HttpResponse())
    updated = HttpResponse()
    updated._csp_update = {"img-src": ["https://images.example"]}
    exempt = HttpResponse()
    exempt._csp_exempt = True

    assert (
        "img-src https://images.example"
        in middleware.process_response(rf.get("/"), updated)["Content-Security-Policy"]
    )
    assert "Content-Security-Policy" not in middleware.process_response(rf.get("/"), exempt)


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script_or_style(client):
    page = client.get("/api/docs/").content.decode()

    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    assert "<style" not in page
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


@pytest.mark.django_db
def test_the_only_script_without_a_source_on_a_claim_page_is_its_json_ld_data(client, statuses):
    page = client.get(make_rated_claim().get_absolute_url()).content.decode()
    assert re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", page) == ['<script type="application/ld+json">']


# In Chromium: each page loads with no violation of the policy, and the page's own scripts run.

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
)

WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A Chromium page that records every policy violation. Open it after the test's data are made: Playwright
    runs an event loop in this thread, where Django then refuses database calls."""
    assert CHROMIUM.exists(), "REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script(WATCH_VIOLATIONS)
            page.console_messages = []
            page.on("console", lambda message: page.console_messages.append(message.text))
            yield page
        finally:
            browser.close()


def violations(page: Page) -> list[str]:
    """What the page reported (its securitypolicyviolation events) and what Chromium printed about the policy."""
    reported = page.evaluate("() => window.cspViolations")
    printed = [text for text in page.console_messages if "Content Security Policy" in text]
    return reported + printed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@needs_chromium
def test_the_api_docs_and_a_claim_page_load_without_a_violation(live_server):
    call_command("loaddata", "statuses", verbosity=0)
    claim = make_rated_claim(text="The ceasefire talks begin at once.")
    with chromium_page() as page:
        _docs_and_claim_page(page, live_server.url, claim.get_absolute_url())


def _docs_and_claim_page(page: Page, site: str, claim_url: str) -> None:
    page.goto(site + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI ran and drew the schema
    assert page.locator(".opblock").count() >= 5
    statuses = page.locator("#operations-statuses-v1_statuses_list")
    statuses.locator(".opblock-summary").click()
    statuses.get_by_role("button", name="Try it out").click()
    statuses.get_by_role("button", name="Execute").click()  # a request from the page (connect-src)
    expect(statuses.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []

    page.goto(site + claim_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("The ceasefire talks begin at once.")
    assert (
        page.evaluate(
            """() => JSON.parse(document.querySelector('script[type="application/ld+json"]').textContent)["@type"]"""
        )
        == "ClaimReview"
    )
    badge = page.locator(".badge-large")
    assert badge.evaluate("(el) => getComputedStyle(el).borderTopColor") != "rgb(107, 114, 128)", (
        "the status colour (a style attribute) was applied, not the grey fallback"
    )
    assert violations(page) == []

    # The watch itself: an inline script added to the page is refused and reported.
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.ran = 1";
                             document.body.append(s); }""")
    assert page.evaluate("() => window.ran") is None
    assert any(v.startswith("script-src") for v in violations(page))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@needs_chromium
def test_the_admin_works_under_the_policy(live_server):
    call_command("loaddata", "statuses", verbosity=0)
    make_user(editor=True, username="ada")
    claim = make_rated_claim(text="Prices fell last year.", source=make_source(title="The budget"))
    with chromium_page() as page:
        _admin(page, live_server.url, claim.pk)


def _admin(page: Page, site: str, claim_id: int) -> None:
    page.goto(site + "/admin/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    page.goto(site + "/admin/claims/claim/")
    expect(page.locator("#result_list")).to_contain_text("Prices fell last year.")

    page.goto(site + f"/admin/claims/claim/{claim_id}/change/")
    source = page.locator(".field-source .select2-selection")  # the autocomplete widget, drawn by its script
    expect(source).to_contain_text("The budget")
    source.click()
    expect(page.locator(".select2-results__option").first).to_be_visible()  # it asked the server for sources
    page.keyboard.press("Escape")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
