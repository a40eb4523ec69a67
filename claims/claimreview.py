"""schema.org ClaimReview JSON-LD for a claim page, as Google's fact-check markup guide describes it.

https://developers.google.com/search/docs/appearance/structured-data/factcheck
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from claims.models import Claim, Source
from claims.site_urls import organization_url

_DJANGO_JSON = DjangoJSONEncoder()
_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

# Characters that could end the script element or open a comment in it are written as JSON escapes, which
# any JSON parser reads back as the same characters (what django.utils.html.json_script does).
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


def claim_review(claim: Claim, request: HttpRequest | None = None) -> dict[str, Any] | None:
    """The ClaimReview of a claim, or None when it has no status (nothing has been reviewed yet).

    Expects speaker, source and status joined in and the status's scale bounds annotated
    (`select_related(...)` and `with_scale_bounds()`); runs no query itself.
    """
    status = claim.status
    if status is None or claim.status_changed_at is None:
        return None
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": status.label}
    worst = getattr(claim, "status__worst_position", None)
    best = getattr(claim, "status__best_position", None)
    # Position 0 (Unverified) is not on the numeric scale: the guide allows a textual rating alone.
    if status.position > 0 and worst is not None and best is not None:
        rating.update(ratingValue=status.position, bestRating=best, worstRating=worst)

    speaker: dict[str, Any] = {"@type": "Person", "name": claim.speaker.name}
    if claim.speaker.role:
        speaker["jobTitle"] = claim.speaker.role
    appearance = _creative_work(claim.source)
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": claim.public_url(request),
        "claimReviewed": claim.text,
        "datePublished": timezone.localdate(claim.status_changed_at).isoformat(),
        "author": {
            "@type": "Organization",
            "name": settings.FACTCHECK_ORGANIZATION_NAME,
            "url": organization_url(request),
        },
        "reviewRating": rating,
        "itemReviewed": {
            "@type": "Claim",
            "author": speaker,
            "datePublished": claim.said_on.isoformat(),
            "appearance": appearance,
            "firstAppearance": appearance,
        },
    }


def _creative_work(source: Source) -> dict[str, Any]:
    work: dict[str, Any] = {"@type": "CreativeWork", "url": source.url, "headline": source.title}
    if source.publisher:
        work["publisher"] = {"@type": "Organization", "name": source.publisher}
    if source.published_on:
        work["datePublished"] = source.published_on.isoformat()
    return work


def json_ld_script(data: dict[str, Any]) -> SafeString:
    """`<script type="application/ld+json">` holding data, escaped so no value can end the element.

    The JSON is json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2), written by orjson: with
    an indent, json.dumps runs its encoder in Python, a twentieth of a claim page's time. orjson writes the
    same text (two-space indent, UTF-8 as it is); times, dates and dataclasses go to Django's encoder, as
    with json.dumps, and a value orjson refuses (a key that is not a string, an integer beyond 64 bits)
    to json.dumps itself.
    """
    try:
        text = orjson.dumps(data, default=_DJANGO_JSON.default, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(text.translate(_SCRIPT_ESCAPES)),  # noqa: S308
    )
