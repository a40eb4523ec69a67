"""The benchmark's floor (bench/floor.py) answers what the API answers: `make bench`'s ratios compare the app
with a bare WSGI app doing the same work, which holds only while the two write the same JSON from the same
rows. Byte for byte, but for the cursors (each its own); paging by the floor's cursors gives the API's pages.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg.conninfo import make_conninfo

from bench import floor
from claims.models import Claim

# The floor reads on its own connection: the data must be committed (a transactional test, whose flush puts
# back what the migrations made: tests/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def floor_app(monkeypatch):
    """The floor on the test database, with the default data loaded."""
    call_command("load_default_data", verbosity=0)
    params = connection.get_connection_params()
    conninfo = make_conninfo(
        **{key: params[key] for key in ("dbname", "host", "port", "user", "password") if params.get(key)}
    )
    monkeypatch.setenv("FLOOR_DATABASE_URL", conninfo)
    monkeypatch.setattr(floor, "_connection", None)
    yield _get
    if floor._connection is not None:
        floor._connection.close()
        floor._connection = None


def _get(url: str) -> tuple[str, bytes]:
    path, _, query = url.removeprefix("http://testserver").partition("?")
    status = []
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "testserver", "wsgi.url_scheme": "http"}
    body = b"".join(floor.application(environ, lambda line, headers: status.append(line)))
    return status[0], body


def _without_cursors(body: bytes) -> bytes:
    return re.sub(rb"cursor=[^&\"]+", b"cursor=<cursor>", body)


@pytest.mark.parametrize(
    "query",
    ["page_size=10", "page_size=100", "q=ceasefire+talks", "q=Zelenskyy", "q=ceasefire+-talks&page_size=3"],
)
def test_the_floor_lists_as_the_api_does(client, floor_app, query):
    """A list page, a search (a near-spelling too) and the pages after them by each one's own cursor."""
    url = f"/api/v1/claims/?{query}"
    app_page, (status, floor_page) = client.get(url), floor_app(url)
    assert (app_page.status_code, status) == (200, "200 OK")
    pages = 1
    while True:
        assert _without_cursors(floor_page) == _without_cursors(app_page.content)
        app_next, floor_next = app_page.json()["next"], floor.orjson.loads(floor_page)["next"]
        assert (app_next is None) == (floor_next is None)
        if app_next is None:
            break
        app_page, (status, floor_page) = client.get(app_next), floor_app(floor_next)
        pages += 1
    if query == "page_size=10":
        assert pages > 1  # the default data hold more than a page


def test_the_floor_answers_each_claim_as_the_api_does(client, floor_app):
    """Every published claim's detail, byte for byte: verdicts, evidence, corrections, the quote in its
    paragraph, overdue."""
    ids = list(Claim.objects.published().values_list("pk", flat=True))
    assert ids
    for pk in ids:
        status, body = floor_app(f"/api/v1/claims/{pk}/")
        assert status == "200 OK"
        assert body == client.get(f"/api/v1/claims/{pk}/").content, pk
    assert floor_app(f"/api/v1/claims/{max(ids) + 1000}/")[0] == "404 Not Found"
