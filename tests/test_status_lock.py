"""Statuses in use cannot be relabelled, rescaled or reordered (issue 7): that would silently rewrite every
rating made with them, and their ClaimReview. The admin shows them read-only, and the database refuses the
update unless a migration says it means it (`SET LOCAL factcheck.rescale_statuses = 'on'`).
"""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from claims.models import Status
from tests.factories import get_status, make_rated_claim, make_status, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, statuses):
    # A superuser: who may edit statuses at all is the Editors group's business (issue 7's review part).
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_the_database_refuses_to_relabel_rescale_or_reorder_a_status_in_use(statuses):
    status = get_status("false")
    make_rated_claim(status=status)

    for change in ({"label": "Wrong"}, {"position": 2}, {"scale": "tracking"}):
        with pytest.raises(IntegrityError, match="used by verdicts"), transaction.atomic():
            Status.objects.filter(pk=status.pk).update(**change)
    Status.objects.filter(pk=status.pk).update(colour="#000000", description="Plainly wrong.")
    Status.objects.filter(pk=status.pk).update(label="False")  # the same values again: no change

    status.refresh_from_db()
    assert (status.label, status.position, status.colour) == ("False", 1, "#000000")


def test_a_status_nobody_uses_may_be_relabelled(statuses):
    unused = make_status(label="Half true", position=3)

    Status.objects.filter(pk=unused.pk).update(label="Half-true", position=4)

    unused.refresh_from_db()
    assert (unused.label, unused.position) == ("Half-true", 4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_migration_may_change_a_scales_wording_deliberately(statuses):
    """Transactional: SET LOCAL lasts to the end of the real transaction, which a test's savepoint is not."""
    status = get_status("misleading")
    make_rated_claim(status=status)

    with transaction.atomic():
        with connection.cursor() as cursor:
            # What a data migration that rewords the scale runs first (README, "Changing a scale's wording").
            cursor.execute("SET LOCAL factcheck.rescale_statuses = 'on'")
        Status.objects.filter(pk=status.pk).update(label="Missing context")
    # SET LOCAL ends with its transaction: the guard is back.
    with pytest.raises(IntegrityError, match="used by verdicts"), transaction.atomic():
        Status.objects.filter(pk=status.pk).update(label="Misleading")

    status.refresh_from_db()
    assert status.label == "Missing context"


def test_the_admin_shows_a_status_in_use_read_only_and_keeps_it_on_a_crafted_post(admin_client):
    status = get_status("false")
    make_rated_claim(status=status)
    url = reverse("admin:claims_status_change", args=[status.pk])

    page = admin_client.get(url).content.decode()
    assert 'name="label"' not in page and 'name="position"' not in page
    assert 'name="colour"' in page and 'name="description"' in page

    response = admin_client.post(
        url, {"label": "Renamed", "position": 5, "colour": "#111111", "description": "New words."}
    )
    assert response.status_code == 302
    status.refresh_from_db()
    assert (status.label, status.position, status.colour, status.description) == (
        "False",
        1,
        "#111111",
        "New words.",
    )


def test_the_admin_still_edits_a_status_not_in_use(admin_client):
    unused = make_status(label="Half true", position=3)
    url = reverse("admin:claims_status_change", args=[unused.pk])

    response = admin_client.post(url, {"label": "Half-true", "position": 4, "colour": "#222222"})

    assert response.status_code == 302
    unused.refresh_from_db()
    assert (unused.label, unused.position) == ("Half-true", 4)


def test_the_status_list_edits_only_the_colour_of_a_status_in_use(admin_client):
    used, unused = get_status("false"), make_status(label="Half true", position=3)
    make_rated_claim(status=used)
    url = reverse("admin:claims_status_changelist")
    page = admin_client.get(url).content.decode()

    rows = Status.objects.order_by("scale", "-position", "id")
    index = {status.pk: n for n, status in enumerate(rows)}
    used_row, unused_row = f"form-{index[used.pk]}-", f"form-{index[unused.pk]}-"
    assert re.search(rf'name="{used_row}label"[^>]*disabled', page)
    assert not re.search(rf'name="{unused_row}label"[^>]*disabled', page)

    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "Save"}
    for status in rows:
        row = f"form-{index[status.pk]}-"
        data |= {f"{row}id": status.pk, f"{row}label": status.label, f"{row}position": status.position}
        data[f"{row}colour"] = status.colour
    data |= {f"{used_row}label": "Renamed", f"{used_row}colour": "#333333", f"{unused_row}label": "Half-true"}
    response = admin_client.post(url, data)

    assert response.status_code == 302
    used.refresh_from_db()
    unused.refresh_from_db()
    assert (used.label, used.colour, unused.label) == ("False", "#333333", "Half-true")
