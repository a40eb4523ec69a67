"""`{% awaiting_review %}`: the admin index's queue of drafts awaiting review (admin/claims/index.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Window
from django.utils import timezone
from django.utils.timesince import timesince

from claims.models import Verdict

register = template.Library()

# How many drafts the queue lists; the rest are behind a link to the verdict list's drafts.
QUEUE_LENGTH = 20


@register.inclusion_tag("admin/claims/awaiting_review.html", takes_context=True)
def awaiting_review(context: dict[str, Any]) -> dict[str, Any]:
    """The oldest drafts first, with their claim, status, author and age, for users who may view verdicts.

    One query however many drafts there are: the listed drafts with claim, status and author joined in (in
    the order of the partial index claims_verdict_draft_queue_idx), each carrying the number of all drafts
    (a window count, taken before the limit).
    """
    user = context["request"].user
    if not user.has_perm("claims.view_verdict"):
        return {"shown": False}
    drafts = list(
        Verdict.objects.drafts()
        .annotate(total=Window(Count("id")))
        .select_related("claim", "status", "created_by")
        .only(
            "created_at",
            "claim__text",
            "status__label",
            "status__colour",
            "created_by__username",
            "created_by__first_name",
            "created_by__last_name",
        )
        .order_by("created_at", "id")[:QUEUE_LENGTH]
    )
    total = drafts[0].total if drafts else 0
    now = timezone.now()
    return {
        "shown": True,
        "drafts": [{"verdict": draft, "age": timesince(draft.created_at, now, depth=1)} for draft in drafts],
        "total": total,
        "more": total > len(drafts),
    }
