from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _api_throttle_off(settings):
    """The API's throttle of anonymous clients is off in tests (every test client is one client, 127.0.0.1),
    so a test may make as many requests as it needs and the pinned query counts are the views' own.

    tests/test_throttling.py turns it on with the `anon_rate` fixture, and pins what it adds per request.
    """
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None}}


@pytest.fixture
def anon_rate(settings, db):
    """Turn the API's throttle of anonymous clients on at a rate, such as "3/minute", from an empty cache.

    The cache is a PostgreSQL table that is not a model's, so a transactional test's flush leaves it as it was.
    """
    cache.clear()

    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": rate}}

    return set_rate


@pytest.fixture
def statuses(db):
    """The two shipped status scales (fixtures/statuses.json)."""
    call_command("loaddata", "statuses", verbosity=0)


# Every transactional test (django_db(transaction=True)) also says serialized_rollback=True: its flush then
# puts back what the migrations made (content types, permissions, the Editors group), so the tests that run
# after it, transactional or not and in any order, find the database as migrated.
