"""The admin index's queues (admin/claims/index.html): `{% awaiting_review %}`, drafts awaiting review, and
`{% overdue_queue %}`, claims overdue that need a verdict."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Window
from django.utils import timezone
from django.utils.timesince import timesince

from claims.models import Claim, Verdict

register = template.Library()

# How many drafts the queue lists; the rest are behind a link to the verdict list's drafts.
QUEUE_LENGTH = 20
# The overdue queue counts up to this many claims (then says "more than"): the count stays a bounded walk
# of the due-date index.
OVERDUE_COUNT_CAP = 1000


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


@register.inclusion_tag("admin/claims/overdue_queue.html", takes_context=True)
def overdue_queue(context: dict[str, Any]) -> dict[str, Any]:
    """ "Overdue — needs a verdict": the claims overdue today, the longest overdue first, with their status,
    due date and how long overdue, for users who may view claims. Nothing changes a status by itself: an
    editor records the verdict.

    One query (ClaimQuerySet.longest_overdue): the listed claims with status joined in, on
    claims_claim_due_idx, each carrying the number of overdue claims counted up to OVERDUE_COUNT_CAP + 1.
    """
    user = context["request"].user
    if not user.has_perm("claims.view_claim"):
        return {"shown": False}
    today = timezone.localdate()
    claims = list(
        Claim.objects.longest_overdue(today, count_up_to=OVERDUE_COUNT_CAP + 1)
        .select_related("status")
        .only("text", "due_on", "kind", "status__label", "status__colour", "status__is_open")[:QUEUE_LENGTH]
    )
    total = claims[0].overdue_total if claims else 0
    return {
        "shown": True,
        "claims": [
            {
                "claim": claim,
                "overdue_since": claim.overdue_since(today),
                "overdue_for": timesince(claim.due_on, today, depth=1),
            }
            for claim in claims
        ],
        "total": min(total, OVERDUE_COUNT_CAP),
        "total_more": total > OVERDUE_COUNT_CAP,
        "more": total > len(claims),
    }
