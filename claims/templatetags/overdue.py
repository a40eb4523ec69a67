"""`{{ claim|overdue_since:today }}`: the rule of overdue (Claim.overdue_since) in templates, on the day the
view reckons from (today, or the day a page is as of). No query: it reads the row's joined status."""

from __future__ import annotations

from datetime import date

from django import template

from claims.models import Claim

register = template.Library()


@register.filter
def overdue_since(claim: Claim, today: date | None) -> date | None:
    """The first day `claim` was overdue, or None when it is not overdue on `today`."""
    return claim.overdue_since(today)
