from __future__ import annotations

import pytest

from claims.models import Change, Kind
from claims.services import EvidenceItem, record_verdict
from tests.factories import get_status, make_claim, make_source


@pytest.mark.django_db
def test_recording_a_verdict_moves_the_claim_to_its_status(statuses):
    claim = make_claim(kind=Kind.FACT)
    source = make_source()
    verdict = record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="The record shows otherwise.",
        evidence=[EvidenceItem(source=source, note="Page 3.")],
    )
    claim.refresh_from_db()
    assert claim.status.slug == "false"
    assert claim.status_changed_at == verdict.published_at
    change = Change.objects.get(verdict=verdict)
    assert (change.from_status, change.to_status.slug) == (None, "false")
    assert [(e.source, e.note) for e in verdict.evidence.all()] == [(source, "Page 3.")]
