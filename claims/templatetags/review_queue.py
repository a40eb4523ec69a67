"""`{% awaiting_review %}`: the admin index's queue of drafts awaiting review (admin/index.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from claims.models import Verdict

register = template.Library()

# How many drafts the queue lists; the rest are behind a link to the verdict list's drafts.
QUEUE_LENGTH = 20


@register.inclusion_tag("admin/claims/awaiting_review.html", takes_context=True)
def awaiting_review(context: dict[str, Any]) -> dict[str, Any]:
    """The oldest drafts first, with their claim, status, author and age, for users who may view verdicts.

    One query for the listed drafts (claim, status and author joined in; on the partial index
    claims_verdict_draft_queue_idx), and a count only when the queue is full: at most two, however many
    drafts there are.
    """
    user = context["request"].user
    if not user.has_perm("claims.view_verdict"):
        return {"shown": False}
    drafts = list(
        Verdict.objects.drafts()
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
        .order_by("created_at", "id")[: QUEUE_LENGTH + 1]
    )
    more = len(drafts) > QUEUE_LENGTH
    drafts = drafts[:QUEUE_LENGTH]
    now = timezone.now()
    return {
        "shown": True,
        "drafts": [{"verdict": draft, "age": timesince(draft.created_at, now, depth=1)} for draft in drafts],
        "total": Verdict.objects.drafts().count() if more else len(drafts),
        "more": more,
    }
