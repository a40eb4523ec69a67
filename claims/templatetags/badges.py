"""`{{ status|badge }}`: a status's badge as every public page shows it, its label on its colour.

A list page shows one for every row; as an included template each cost a template lookup, a context and a
render, about a tenth of a row. The badges a site shows are few (one per status), so each is written once.
"""

from __future__ import annotations

import functools

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from claims.models import Status

register = template.Library()


@register.filter
def badge(status: Status | None) -> str:
    """The badge of `status`; "" for none (a claim not yet rated)."""
    if status is None:
        return ""
    return _badge(status.colour, status.label)


@functools.lru_cache(maxsize=1024)
def _badge(colour: str, label: str) -> SafeString:
    return format_html('<span class="badge" style="--status-colour: {}">{}</span>', colour, label)
