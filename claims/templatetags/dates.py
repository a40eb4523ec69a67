"""`{{ claim.said_on|day }}`: a day as the public pages write it, "3 March 2025" (Django's `date:"j F Y"`).

A page of claims writes a hundred days or so, and Django's date filter works out the language's formats and
month names afresh for each one (about 20 µs a day, a fifth of a claim row). The days a site shows are few
and repeat, so each is written once per language and remembered. For a machine-readable day, the templates
use the value's own isoformat (what `date:"Y-m-d"` writes for a date).
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from django import template
from django.utils.formats import date_format
from django.utils.translation import get_language

register = template.Library()

# How many days (per language) are remembered: more than a site shows at once, and a few hundred kB at most.
REMEMBERED_DAYS = 8192


@register.filter(expects_localtime=True)
def day(value: date | datetime | None) -> str:
    """The day of a date, or of a time in the current time zone, as "3 March 2025"; "" for none."""
    if not isinstance(value, date):
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _written_day(value, get_language())


@functools.lru_cache(maxsize=REMEMBERED_DAYS)
def _written_day(value: date, language: str | None) -> str:
    """`language` is the cache's key: date_format reads the active language itself."""
    return date_format(value, "j F Y")
