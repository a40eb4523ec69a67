"""The API's JSON renderer (claims/api/renderers.py) writes DRF's JSONRenderer's bytes, and production serves
no browsable API."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
import yaml
from django.utils.translation import gettext_lazy
from rest_framework import renderers as drf

from claims.api.renderers import JSONRenderer
from tests.conftest import Server, production_server
from tests.factories import make_rated_claim
from tests.test_settings import GOOD_KEY, _load_settings


@dataclasses.dataclass
class Point:
    x: int
    y: int


AWKWARD = {
    "every control character": "".join(chr(code) for code in range(0x20)) + "\x7f",
    "separators": "line\u2028paragraph\u2029end",
    "html and quotes": "<script>\"a\" & 'b' \\ /</script>",
    "beyond ascii": "Zoë “Q” O'Brien 🕊 \ufeff\u200b",
    "numbers": [0, -1, 2**63 - 1, True, False, None],
    "nested": {"b": [{"z": 1, "a": 2}], "a": {}},
    "utc time": datetime(2025, 5, 19, 10, 0, 0, 123456, tzinfo=UTC),
    "offset time": datetime(2025, 5, 19, 10, 0, tzinfo=timezone(timedelta(hours=-5))),
    "naive time": datetime(2025, 5, 19, 10, 0, 1),
    "date": date(2024, 2, 29),
    "time of day": time(10, 30, 15, 999999),
    "decimal": Decimal("1.10"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy text": gettext_lazy("Not found."),
    "tuple": (1, "two"),
}


def test_it_writes_what_drfs_renderer_writes_for_every_kind_of_value():
    for name, value in AWKWARD.items():
        ours, theirs = JSONRenderer().render({name: value}), drf.JSONRenderer().render({name: value})
        assert ours == theirs, name
    body = JSONRenderer().render(AWKWARD)
    assert body == drf.JSONRenderer().render(AWKWARD)
    # U+2028 and U+2029 escaped, the rest of the text as UTF-8, compact.
    assert b"line\\u2028paragraph\\u2029end" in body
    assert "Zoë “Q” O'Brien 🕊".encode() in body
    assert b'"utc time":"2025-05-19T10:00:00.123456Z"' in body
    assert b", " not in body and b": " not in body


def test_what_orjson_refuses_drfs_renderer_writes():
    # Beyond 64 bits, and a key that is not a string: json.dumps writes them, orjson would not.
    for data in ({"big": 2**64}, {1: "one", None: "none"}):
        assert JSONRenderer().render(data) == drf.JSONRenderer().render(data)
    assert JSONRenderer().render(None) == b""
    # A dataclass orjson would write as an object; DRF refuses it, and so do we.
    for renderer in (JSONRenderer(), drf.JSONRenderer()):
        with pytest.raises(TypeError, match="Point is not JSON serializable"):
            renderer.render({"point": Point(1, 2)})


@pytest.mark.parametrize("indent", [2, 4])
def test_an_indent_asked_for_is_written_as_drf_writes_it(indent):
    media_type = f"application/json; indent={indent}"
    ours = JSONRenderer().render(AWKWARD, media_type, {})
    assert ours == drf.JSONRenderer().render(AWKWARD, media_type, {})
    assert b"\n" + b" " * indent + b'"separators": "line\\u2028paragraph\\u2029end"' in ours


@pytest.mark.django_db
def test_the_api_answers_an_indent_asked_for(client, statuses):
    claim = make_rated_claim()
    compact = client.get(f"/api/v1/claims/{claim.pk}/")
    indented = client.get(f"/api/v1/claims/{claim.pk}/", HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200
    assert indented.content.startswith(b'{\n  "id": ')
    assert json.loads(indented.content) == json.loads(compact.content)
    assert b"\n" not in compact.content


@pytest.mark.django_db
def test_no_api_answer_holds_a_float(client):
    """orjson writes some floats unlike json.dumps (1e-7 against 1e-07): the API has none to write."""
    schema = yaml.safe_load(client.get("/api/schema/").content)
    numbers: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "number":
                numbers.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(schema, "")
    assert numbers == []


def test_production_serves_no_browsable_api():
    show = "*s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']"
    production = _load_settings(show=show, DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert production.stdout.split() == ["claims.api.renderers.JSONRenderer"], production.stderr
    development = _load_settings(show=show, DEBUG="true")
    assert development.stdout.split() == [
        "claims.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ], development.stderr


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, collected_static, tmp_path_factory) -> Iterator[Server]:
    """gunicorn with the production settings (DEBUG off) on the test database."""
    with production_server(
        django_db_blocker, collected_static, tmp_path_factory.mktemp("renderer")
    ) as running:
        yield running


@pytest.mark.django_db
def test_in_production_a_browser_gets_json_and_html_is_refused(server):
    browser, body, _ = server.request(
        "/api/v1/statuses/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert browser.status == 200
    assert browser.getheader("Content-Type") == "application/json"
    assert isinstance(json.loads(body), list)
    html, _, _ = server.request("/api/v1/statuses/", headers={"Accept": "text/html"})
    assert html.status == 406
    browsable, _, _ = server.request("/api/v1/statuses/?format=api")
    assert browsable.status == 404
