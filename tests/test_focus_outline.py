"""The public pages' focus ring stands out at 3:1 or more (WCAG 2.2, 1.4.11) from every background it is drawn on."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import sync_playwright

from tests.factories import make_rated_claim
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_csp import needs_chromium

STYLESHEET = settings.BASE_DIR / "claims" / "static" / "claims" / "site.css"


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def hex_colour(value: str) -> tuple[int, int, int]:
    digits = value.strip().removeprefix("#")
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def test_the_contrast_formula():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    old_ring = hex_colour("#f59e0b")
    assert contrast(old_ring, hex_colour("#ffffff")) == pytest.approx(2.15, abs=0.01)


def test_the_focus_ring_in_the_stylesheet_stands_out_from_every_background_that_holds_focusable_things():
    css = STYLESHEET.read_text()
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    (ring,) = re.findall(r":focus-visible\s*\{[^}]*outline:\s*(\d+)px solid var\(--([\w-]+)\)", css)
    assert int(ring[0]) >= 2
    focus = hex_colour(variables[ring[1]])
    # The ring is drawn 2px outside its element, on the background of what holds it.
    (notice,) = re.findall(r"\.notice \{[^}]*background: (#[0-9a-fA-F]{6})", css)
    backgrounds = {
        "page (--paper)": variables["paper"],
        "header, filters, current verdict (--tint)": variables["tint"],
        "notice": notice,
    }
    ratios = {name: round(contrast(focus, hex_colour(value)), 2) for name, value in backgrounds.items()}
    assert min(ratios.values()) >= 3, ratios


COLOUR = re.compile(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)")

# For the focused element: its ring (colour, style, width) and the first opaque background behind it, from
# its parent outwards (the ring is drawn outside the element).
FOCUSED_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let holder = el.parentElement, background = "rgb(255, 255, 255)";
  for (; holder; holder = holder.parentElement) {
    const colour = getComputedStyle(holder).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { background = colour; break; }
  }
  return {what: el.outerHTML.slice(0, 80), colour: style.outlineColor, style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), background};
}"""


def rgb(css_colour: str) -> tuple[int, int, int]:
    match = COLOUR.fullmatch(css_colour)
    assert match and (match[4] is None or float(match[4]) == 1), css_colour
    return (int(match[1]), int(match[2]), int(match[3]))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@needs_chromium
def test_tabbing_through_the_public_pages_every_focus_ring_stands_out(live_server):
    call_command("loaddata", "statuses", verbosity=0)
    claim = make_rated_claim()
    pages = ["/", "/claims/?status=no-such-status", claim.get_absolute_url()]
    seen = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for path in pages:
                page.goto(live_server.url + path)
                for _ in range(25):
                    page.keyboard.press("Tab")
                    if page.evaluate("() => document.activeElement === document.body"):
                        break
                    seen.append((path, page.evaluate(FOCUSED_RING)))
        finally:
            browser.close()

    assert len(seen) >= 20
    assert {ring["style"] for _, ring in seen} == {"solid"}
    assert min(ring["width"] for _, ring in seen) >= 2
    weak = [
        (path, ring["what"], round(ratio, 2))
        for path, ring in seen
        if (ratio := contrast(rgb(ring["colour"]), rgb(ring["background"]))) < 3
    ]
    assert weak == []
    assert {ring["background"] for _, ring in seen} >= {"rgb(255, 255, 255)", "rgb(246, 248, 250)"}
