from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "url",
    [
        "/claims/?q=%00",
        "/claims/?q=abc%00def",
        "/api/v1/claims/?speaker=%00",
        "/claims/%00/",
        "/claims/?q=%ED%A0%80",
        "/api/v1/claims/?q=%ED%A0%80",
        "/claims/%ED%A0%80/",
        "/admin/?q=%FF",
    ],
)
def test_a_nul_byte_or_lone_surrogate_in_the_url_is_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"NUL byte or invalid UTF-8" in response.content


def test_a_nul_byte_in_a_form_body_is_a_400(client):
    response = client.post(
        "/admin/login/", "username=ed%00itor&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


def test_an_escaped_nul_or_lone_surrogate_in_a_json_body_is_a_400(client):
    for body in ('{"summary": "a\\u0000b"}', '{"summary": "\\ud800"}'):
        response = client.post("/api/v1/claims/", body, content_type="application/json")
        assert response.status_code == 400, body


@pytest.mark.django_db
def test_ordinary_unicode_passes_through(client):
    response = client.get("/claims/?q=%D0%9F%D1%83%D1%82%D0%B8%D0%BD")  # Путин
    assert response.status_code != 400


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/claims/caf%C3%A9/", "/speakers/%C3%BCn%C3%AFcode/", "/claims/%E5%A4%B1/"])
def test_an_accented_path_reaches_the_view(client, url):
    assert client.get(url).status_code == 404
