from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture
def statuses(db):
    """The two shipped status scales (fixtures/statuses.json)."""
    call_command("loaddata", "statuses", verbosity=0)


# Every transactional test (django_db(transaction=True)) also says serialized_rollback=True: its flush then
# puts back what the migrations made (content types, permissions, the Editors group), so the tests that run
# after it, transactional or not and in any order, find the database as migrated.
