from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture
def statuses(db):
    """The two shipped status scales (fixtures/statuses.json)."""
    call_command("loaddata", "statuses", verbosity=0)
