"""The REST API as a whole: the OpenAPI schema and docs, the root, and writes without an API key (refused;
tests/test_api_keys.py writes with one)."""

from __future__ import annotations

import json

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

from claims.models import Claim, EventType
from tests.factories import make_rated_claim, make_user
from tests.test_api_claims import CLAIM_FIELDS
from tests.test_api_errors import problem_body

# The key holders' own webhook endpoints: every operation takes a key, reads too.
WEBHOOKS = "/api/v1/webhooks/"

# --- OpenAPI schema and docs ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_schema_describes_every_endpoint_and_filter(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/claims/",
        "/api/v1/claims/{id}/",
        "/api/v1/claims/{id}/verdicts/",
        "/api/v1/claims/{id}/verdicts/{verdict_id}/publish/",
        "/api/v1/speakers/",
        "/api/v1/speakers/{slug}/",
        "/api/v1/sources/",
        "/api/v1/sources/{id}/",
        "/api/v1/statuses/",
        "/api/v1/statuses/{slug}/",
        "/api/v1/changes/",
        "/api/v1/corrections/",
        "/api/v1/events/",
        "/api/v1/exports/claims.csv",
        "/api/v1/exports/claims.jsonl",
        "/api/v1/exports/claimreview.json",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/rotate/",
    }
    claims_list = schema["paths"]["/api/v1/claims/"]["get"]
    assert {p["name"] for p in claims_list["parameters"]} == {
        "speaker",
        "status",
        "kind",
        "q",
        "said_on_after",
        "said_on_before",
        "overdue",
        "due_after",
        "due_before",
        "as_of",
        "updated_since",
        "cursor",
        "page_size",
    }
    params = {p["name"]: p for p in claims_list["parameters"]}
    assert params["overdue"]["schema"] == {"type": "boolean"}
    assert params["as_of"]["schema"] == {"type": "string", "format": "date"}
    claim_detail = schema["paths"]["/api/v1/claims/{id}/"]["get"]
    assert {p["name"] for p in claim_detail["parameters"]} == {"id", "as_of"}
    changes = schema["paths"]["/api/v1/changes/"]["get"]
    assert {p["name"] for p in changes["parameters"]} == {"after", "page_size"}
    # The exports read the claim list's filters, no paging; each answers its own media type.
    for path, media_type in [
        ("/api/v1/exports/claims.csv", "text/csv"),
        ("/api/v1/exports/claims.jsonl", "application/x-ndjson"),
        ("/api/v1/exports/claimreview.json", "application/ld+json"),
    ]:
        export = schema["paths"][path]["get"]
        assert {p["name"] for p in export["parameters"]} == {
            *("speaker", "status", "kind", "q", "said_on_after", "said_on_before", "updated_since"),
            *("overdue", "due_after", "due_before"),
        }
        assert list(export["responses"]["200"]["content"]) == [media_type]
        assert export["tags"] == ["exports"]
    corrections = schema["paths"]["/api/v1/corrections/"]["get"]
    assert {p["name"] for p in corrections["parameters"]} == {"claim", "cursor", "page_size"}
    events = schema["paths"]["/api/v1/events/"]["get"]
    assert {p["name"] for p in events["parameters"]} == {"after", "page_size", "claim", "speaker", "type"}
    [event_type] = [p for p in events["parameters"] if p["name"] == "type"]
    assert event_type["schema"]["items"]["enum"] == sorted(EventType.values)
    components = schema["components"]["schemas"]
    assert set(components["PaginatedEventList"]["properties"]) == {"next", "last_id", "results"}
    assert set(components["Event"]["properties"]) == {"id", "type", "timestamp", "data"}
    assert set(components["EventData"]["properties"]) == {
        *("claim", "status", "from_status", "to_status", "verdict", "correction", "overdue")
    }
    assert components["EventTypeEnum"]["enum"] == EventType.values
    assert set(components["Claim"]["properties"]) == CLAIM_FIELDS
    assert set(components["ClaimDetail"]["properties"]) == CLAIM_FIELDS | {
        "version",
        "quote_context",
        "verdicts",
        "corrections",
    }
    assert set(components["QuoteContext"]["properties"]) == {
        "before",
        "quote",
        "after",
        "source_url",
        "captured_at",
    }
    assert components["ClaimDetail"]["properties"]["quote_context"]["nullable"] is True
    assert set(components["SourceDetail"]["properties"]) == {
        "id",
        "title",
        "publisher",
        "authors",
        "url",
        "published_on",
        "archived_at",
        "archived_sha256",
    }
    assert components["Evidence"]["properties"]["source"]["allOf"] == [
        {"$ref": "#/components/schemas/SourceBrief"}
    ]
    assert components["Claim"]["properties"]["html_url"]["format"] == "uri"
    assert components["Claim"]["properties"]["overdue"]["type"] == "boolean"
    assert components["Claim"]["properties"]["overdue_since"] == {
        "type": "string",
        "format": "date",
        "nullable": True,
        "readOnly": True,
        "description": components["Claim"]["properties"]["overdue_since"]["description"],
    }
    assert set(components["PaginatedStatusChangeList"]["properties"]) == {"next", "last_id", "results"}
    # The feed's entries: what a status change always had, and (issue 7) its type and a correction's note.
    feed_entry = components["StatusChange"]
    assert set(feed_entry["properties"]) == {
        *("id", "claim", "from_status", "to_status", "verdict", "at", "type", "correction")
    }
    assert components["TypeEnum"]["enum"] == ["status_change", "correction"]
    assert set(components["Correction"]["properties"]) == {"id", "claim", "note", "changes", "verdict", "at"}
    # Every read is public: no security requirement, so the docs show no padlock; a write takes an API key,
    # and so does everything under /api/v1/webhooks/ (a key's own endpoints, not public data).
    writes = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "get" and not path.startswith(WEBHOOKS):
                assert not operation.get("security"), operation["operationId"]
            else:
                assert operation["security"] == [{"ApiKey": []}], operation["operationId"]
                writes.add((method, path))
    assert writes == {
        ("get", "/api/v1/webhooks/"),
        ("post", "/api/v1/webhooks/"),
        ("get", "/api/v1/webhooks/{id}/"),
        ("patch", "/api/v1/webhooks/{id}/"),
        ("delete", "/api/v1/webhooks/{id}/"),
        ("post", "/api/v1/webhooks/{id}/rotate/"),
        ("post", "/api/v1/claims/"),
        ("patch", "/api/v1/claims/{id}/"),
        ("post", "/api/v1/claims/{id}/verdicts/"),
        ("post", "/api/v1/claims/{id}/verdicts/{verdict_id}/publish/"),
        ("post", "/api/v1/speakers/"),
        ("post", "/api/v1/sources/"),
    }
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey"}
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert "Api-Key <key>" in schema["components"]["securitySchemes"]["ApiKey"]["description"]
    assert "security" not in schema
    for write in ("Speaker", "Source", "Claim", "Verdict"):
        assert f"{write}Write" in components
    # A webhook endpoint as read, and the answer that holds its secret (a creation's, a rotation's).
    endpoint_fields = {"id", "url", "description", "speaker", "claim", "event_types", "is_active"}
    endpoint_fields |= {"disabled_reason", "disabled_at", "previous_secret_expires_at", "created_at"}
    assert set(components["WebhookEndpoint"]["properties"]) == endpoint_fields
    assert set(components["WebhookEndpointCreated"]["properties"]) == endpoint_fields | {"secret"}
    assert components["PaginatedWebhookEndpointList"]["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/WebhookEndpoint"
    }
    for operation in ("post", "patch"):
        path = "/api/v1/webhooks/" + ("{id}/" if operation == "patch" else "")
        [body] = schema["paths"][path][operation]["requestBody"]["content"].values()
        assert body["schema"]["$ref"].endswith("WebhookEndpoint"), operation
    created = schema["paths"]["/api/v1/webhooks/"]["post"]["responses"]["201"]
    rotated = schema["paths"]["/api/v1/webhooks/{id}/rotate/"]["post"]["responses"]["200"]
    for answer in (created, rotated):
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/WebhookEndpointCreated"
        }


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_error_bodies_as_they_are(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "errors"}
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue  # a write: below
        if path.startswith(WEBHOOKS):
            continue  # a key's own endpoints: below
        responses = operations["get"]["responses"]
        # A claim reads ?as_of=, which may be a bad date.
        errors = (
            {"400"}
            if not path.endswith("}/")
            else {"400", "404"}
            if path == "/api/v1/claims/{id}/"
            else {"404"}
        )
        assert set(responses) == {"200", *errors, "406", "429", "503"}, path
        for status in [*errors, "406", "429", "503"]:
            [(media_type, content)] = responses[status]["content"].items()
            assert media_type == "application/problem+json"
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, (path, status)
            assert responses[status]["description"]
        # A client told to wait is told for how long (schemathesis, in tests/test_bad_input.py, checks that
        # the answers carry it).
        for status in ("429", "503"):
            assert responses[status]["headers"] == {
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 0},
                    "required": True,
                    "description": "How many seconds to wait before trying again.",
                }
            }, (path, status)
        assert [status for status, response in responses.items() if "headers" in response] == ["429", "503"]
    # A write's refusals are problems too; its 401 names the scheme, a creation's 201 gives the Location.
    for path, operations in schema["paths"].items():
        if "patch" in operations:
            responses = operations["patch"]["responses"]
            # A claim's edit names the version it read (409 when stale); an endpoint's is a plain edit.
            stale = set() if path.startswith(WEBHOOKS) else {"409"}
            assert set(responses) == {"200", "400", "401", "403", "404", "406", "415", "429", "503", *stale}
            assert set(responses["401"]["headers"]) == {"WWW-Authenticate"}
        if "post" not in operations or path.startswith(WEBHOOKS):
            continue
        responses = operations["post"]["responses"]
        errors = {"400", "401", "403", "406", "415", "429", "503"} | ({"404"} if "{id}" in path else set())
        if path.endswith("/publish/"):  # publishing creates nothing: the draft, published
            assert set(responses) == {"200", *errors}, path
            continue
        assert set(responses) == {"201", *errors}, path
        for status in errors:
            [(media_type, content)] = responses[status]["content"].items()
            assert media_type == "application/problem+json"
        assert set(responses["401"]["headers"]) == {"WWW-Authenticate"}
        assert set(responses["201"]["headers"]) == {"Location"}
        assert list(operations["post"]["requestBody"]["content"]) == ["application/json"]
    # The webhook endpoints: every operation takes a key (its 401 names the scheme) and may be refused it
    # (403); a list may be sent a bad parameter, an endpoint may be another key's or none (404).
    refusals = {"401", "403", "406", "429", "503"}
    expected = {
        ("get", "/api/v1/webhooks/"): {"200", "400", *refusals},
        ("post", "/api/v1/webhooks/"): {"201", "400", "415", *refusals},
        ("get", "/api/v1/webhooks/{id}/"): {"200", "404", *refusals},
        ("patch", "/api/v1/webhooks/{id}/"): {"200", "400", "404", "415", *refusals},
        ("delete", "/api/v1/webhooks/{id}/"): {"204", "404", *refusals},
        ("post", "/api/v1/webhooks/{id}/rotate/"): {"200", "404", *refusals},
    }
    for (method, path), statuses in expected.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, (method, path)
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        assert set(responses["429"]["headers"]) == {"Retry-After"}
        for status in statuses - {"200", "201", "204"}:
            [media_type] = responses[status]["content"]
            assert media_type == "application/problem+json", (method, path, status)
    assert set(schema["paths"]["/api/v1/webhooks/"]["post"]["responses"]["201"]["headers"]) == {"Location"}
    assert "content" not in schema["paths"]["/api/v1/webhooks/{id}/"]["delete"]["responses"]["204"]
    # The examples the docs page shows are what the API answers.
    claims = schema["paths"]["/api/v1/claims/"]["get"]["responses"]
    claim = schema["paths"]["/api/v1/claims/{id}/"]["get"]["responses"]
    [bad_request] = claims["400"]["content"]["application/problem+json"]["examples"].values()
    [not_found] = claim["404"]["content"]["application/problem+json"]["examples"].values()
    [not_acceptable] = claim["406"]["content"]["application/problem+json"]["examples"].values()
    assert client.get("/api/v1/claims/?page_size=0").json() == bad_request["value"]
    assert client.get("/api/v1/claims/0/").json() == not_found["value"]
    assert client.get("/api/v1/claims/0/", HTTP_ACCEPT="text/csv").json() == not_acceptable["value"]
    # What an outage answers (tests/test_outage.py sees it from a server whose database refuses).
    [unavailable] = claim["503"]["content"]["application/problem+json"]["examples"].values()
    assert unavailable["value"] == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database is unavailable. Try again shortly.",
    }


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "/api/v1/changes/" in out.read_text()


@pytest.mark.django_db
def test_the_api_docs_page_uses_the_projects_own_assets(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # The page's start-up script (served apart, for the CSP) loads the schema.
    assert '"/api/schema/"' in client.get("/api/docs/?script=").content.decode()
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["options", "post", "put", "delete"])
def test_the_api_docs_page_answers_only_get(client, method):
    response = getattr(client, method)("/api/docs/")

    assert problem_body(response, 405)["title"] == "Method Not Allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_the_api_root_lists_every_resource(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert set(response.json()) == {
        *("claims", "speakers", "sources", "statuses", "changes", "corrections", "events", "webhooks")
    }


# --- writes are refused -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/claims/",
        "/api/v1/claims/{claim}/",
        "/api/v1/speakers/",
        "/api/v1/speakers/{speaker}/",
        "/api/v1/sources/{source}/",
        "/api/v1/statuses/false/",
        "/api/v1/changes/",
        "/api/v1/events/",
    ],
)
def test_anonymous_writes_are_refused_and_change_nothing(client, statuses, method, path):
    claim = make_rated_claim(text="Unchanged.")
    url = path.format(claim=claim.id, speaker=claim.speaker.slug, source=claim.source_id)

    response = getattr(client, method)(
        url, data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    # 401: credentials are what is missing, and the challenge names the scheme to send them in.
    assert problem_body(response, 401)["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Api-Key"
    claim.refresh_from_db()
    assert claim.text == "Unchanged."
    assert Claim.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_signed_in_reader_without_permissions_cannot_write(client, statuses, method):
    claim = make_rated_claim(text="Unchanged.")
    client.force_login(make_user())

    response = getattr(client, method)(
        f"/api/v1/claims/{claim.id}/", data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.text == "Unchanged."


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_superusers_session_cannot_write_nor_edit(client, statuses, method):
    claim = make_rated_claim(text="Unchanged.")
    client.force_login(make_user(is_superuser=True))
    url = "/api/v1/claims/" if method == "post" else f"/api/v1/claims/{claim.id}/"

    response = getattr(client, method)(
        url, data=json.dumps({"text": "Changed."}), content_type="application/json"
    )

    # Creating and editing a claim take an API key (a session reads only); replacing and deleting are no API
    # actions at all.
    if method in ("post", "patch"):
        assert "takes an API key" in problem_body(response, 403)["detail"]
    else:
        assert response.status_code == 405
    claim.refresh_from_db()
    assert claim.text == "Unchanged."
