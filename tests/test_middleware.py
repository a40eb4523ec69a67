from __future__ import annotations

import pytest

from factcheck.middleware import UNSAFE_TEXT
from tests.test_api_errors import parameter_errors, problem_body


@pytest.mark.parametrize(
    "url",
    [
        "/claims/?q=%00",
        "/claims/?q=abc%00def",
        "/claims/%00/",
        "/claims/?q=%ED%A0%80",
        "/claims/%ED%A0%80/",
        "/admin/?q=%FF",
    ],
)
def test_a_nul_byte_or_lone_surrogate_in_a_page_url_is_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"NUL byte or invalid UTF-8" in response.content


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("/api/v1/claims/?speaker=%00", ["speaker"]),
        ("/api/v1/claims/?q=%ED%A0%80", ["q"]),
        ("/api/v1/claims/?kind=fact&q=a%00b&cursor=%FF", ["cursor", "q"]),
        ("/api/v1/claims/?q%00=1", ["q"]),
    ],
)
def test_a_nul_byte_or_lone_surrogate_in_an_api_parameter_is_a_problem_naming_it(client, url, names):
    errors = parameter_errors(client.get(url))

    assert sorted(errors) == names
    assert all(messages == [UNSAFE_TEXT] for messages in errors.values())


def test_a_nul_byte_in_an_api_path_is_a_problem(client):
    body = problem_body(client.get("/api/v1/claims/%00/"), 400)

    assert body["detail"] == "The URL contains a NUL byte or invalid UTF-8."
    assert "errors" not in body


def test_a_nul_byte_in_a_form_body_is_a_400(client):
    response = client.post(
        "/admin/login/", "username=ed%00itor&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


UNSAFE_JSON = [
    r'{"summary": "a\u0000b"}',
    r'{"summary": "\ud800"}',  # a high surrogate alone
    r'{"summary": "\udc00"}',  # a low surrogate alone
    r'{"summary": "\udc00\ud800"}',  # both halves, in the wrong order
    r'{"summary": "\ud800\ud800\udc00"}',  # a pair after a lone high surrogate
    r'{"summary": "\ud800x\udc00"}',
    r'{"summary": "\ud800\\udc00"}',  # the second half is text: an escaped backslash, then "udc00"
    r'{"summary": "\\\u0000"}',  # an escaped backslash, then an escaped NUL
    r'{"\u0000": 1}',  # in a key
    r"[" * 500 + r'"\u0000"' + r"]" * 500,
    r'{"summary": "\uD800"}',  # hex digits in upper case
]
SAFE_JSON = [
    r'{"summary": "\\u0000"}',  # an escaped backslash, then the text "u0000"
    r'{"summary": "\\\\u0000"}',
    r'{"summary": "\ud83d\ude00"}',  # a surrogate pair: one character (an emoji)
    r'{"summary": "\uD83D\uDE00"}',
    r'{"summary": "\u00e9\u0041\ufffd"}',
    r'{"summary": "\u000"}',  # too few digits: not JSON, and the view says so
    r'{"summary": "\U0000"}',  # not an escape (JSON's u is lower case): not JSON either
    r'{"summary": "\"\u0001"}',
    "[" * 2000 + "]" * 2000,  # far deeper than Python's JSON parser goes: the scan does not parse
    '{"summary": "' + "\\" * 3000 + '"}',
]


@pytest.mark.parametrize("body", UNSAFE_JSON)
def test_an_escaped_nul_or_lone_surrogate_in_a_json_body_is_a_400(client, body):
    response = client.post("/api/v1/claims/", body, content_type="application/json")

    assert (
        problem_body(response, 400)["detail"]
        == "The request body contains a NUL character or a lone surrogate."
    )


@pytest.mark.django_db
@pytest.mark.parametrize("body", SAFE_JSON)
def test_other_json_escapes_pass_through_to_the_view(client, body):
    response = client.post("/api/v1/claims/", body, content_type="application/json")

    # The view answers: a write without an API key is refused, whatever the body.
    assert problem_body(response, 401)["detail"] == "Authentication credentials were not provided."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/claims/", "/api/v1/claims/", "/api/v1/", "/api/schema/", "/nowhere/"]
)
@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json", "text/plain"])
def test_deeply_nested_json_posted_anywhere_is_never_a_server_error(client, path, content_type):
    body = "[" * 1000 + r'"\u0041"' + "]" * 1000 + "{" * 10 + r'"\u0000"'  # about 2 KB

    response = client.post(path, body, content_type=content_type)

    assert response.status_code in (400, 401, 403, 404, 405)
    if content_type.endswith("json"):
        assert response.status_code == 400  # the \u0000 at the end was found


@pytest.mark.django_db
def test_ordinary_unicode_passes_through(client):
    response = client.get("/claims/?q=%D0%9F%D1%83%D1%82%D0%B8%D0%BD")  # Путин
    assert response.status_code != 400


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/claims/caf%C3%A9/", "/speakers/%C3%BCn%C3%AFcode/", "/claims/%E5%A4%B1/"])
def test_an_accented_path_reaches_the_view(client, url):
    assert client.get(url).status_code == 404
