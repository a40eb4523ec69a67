"""Bad input is never a server error: a corpus of a few hundred bad requests, then schemathesis, sent over
HTTP to gunicorn running the production settings (`production_server`), on the test database.

Each answer must be below 500 with no traceback in its body or in the server's log; under /api/ every error
is the API's problem document, and a value a list cannot use is a 400 that names its parameter.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from django.apps import apps
from django.core import signing
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from claims.api.errors import PROBLEM_CONTENT_TYPE
from claims.models import Claim, Source, Speaker
from claims.pagination import CURSOR_SALT
from tests.conftest import GOOD_SECRET_KEY, Server
from tests.conftest import production_server as serving
from tests.factories import make_claim, make_speaker
from tests.test_api_errors import PROBLEM_FIELDS

# The server reads the test database, which pytest-django creates only for a run with a test that asks for it:
# so that this module may run alone, its tests ask (each an empty transaction of this process's connection).
pytestmark = pytest.mark.django_db

# The production server -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production_server(
    django_db_setup, django_db_blocker, collected_static, tmp_path_factory
) -> Iterator[Server]:
    """gunicorn with the production settings (DEBUG off, whitenoise's manifest storage after collectstatic,
    a secret key, ALLOWED_HOSTS) on the test database, over plain HTTP (README: a local trial without TLS),
    with two workers. The tests send thousands of requests from one address: the throttle lets them.

    It reads what is committed: a test that wants rows must commit them (`published` does).
    """
    with serving(
        django_db_blocker,
        collected_static,
        tmp_path_factory.mktemp("production"),
        workers=2,
        API_ANON_THROTTLE_RATE="100000/minute",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def published(production_server: Server, django_db_blocker) -> dict[str, str]:
    """The default data committed for the server (and a draft claim and a speaker without published claims),
    for this module's tests; the tables are put back as they were afterwards.

    Returns what the corpus's URLs name: {claim}, {slug}, {draft}, {speaker}, {quiet}, {source}.
    """
    with django_db_blocker.unblock():
        before = connection.creation.serialize_db_to_string()
        call_command("load_default_data", stdout=io.StringIO())
        claim = Claim.objects.published().earliest("id")
        draft = make_claim(speaker=make_speaker(slug="quiet"))
        names = {
            "claim": str(claim.id),
            "slug": claim.slug,
            "draft": str(draft.id),
            "speaker": claim.speaker.slug,
            "quiet": "quiet",
            "source": str(Source.objects.earliest("id").id),
        }
        assert Speaker.objects.published().count() > 1
    yield names
    with django_db_blocker.unblock():
        # A flush truncates (the triggers refuse to delete published verdicts and changes one by one).
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
        connection.creation.deserialize_db_from_string(before)
        # The flush reset the id sequences and the rows came back with their ids: set each sequence past them,
        # or the next test's insert (a content type, a permission) collides with a restored row.
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
                cursor.execute(statement)


# The corpus ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request. `refused`: the parameter an API list must answer a 400 naming."""

    label: str
    target: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    refused: str | None = None


def sign(payload: object) -> str:
    """A cursor signed by the real signer with the server's key: past the signature, into the checks."""
    return quote(signing.dumps(payload, key=GOOD_SECRET_KEY, salt=CURSOR_SALT))


class _Raw:
    def dumps(self, payload: bytes) -> bytes:
        return payload


def sign_bytes(payload: bytes) -> str:
    """A signed cursor whose payload is these bytes, JSON or not (compressed, as signing does when it helps)."""
    return quote(
        signing.dumps(payload, key=GOOD_SECRET_KEY, salt=CURSOR_SALT, serializer=_Raw, compress=True)
    )


UNSAFE = {
    "nul": "%00",
    "nul-inside": "a%00b",
    "surrogate": "%ED%A0%80",
    "not-utf8": "%FF",
    "overlong-nul": "%C0%80",
}
NOT_WHOLE_NUMBERS = {
    "negative": "-1",
    "decimal": "1.5",
    "exponent": "1e3",
    "hex": "0x10",
    "space": "%201",
    "plus": "%2B1",
    "word": "ten",
    "arabic-indic": "%D9%A1",
    "superscript": "%C2%B2",
    "fullwidth": "%EF%BC%91",
    "huge": "9" * 30,
    "thousands-of-digits": "9" * 3000,
    "two-to-the-64": str(2**64),
}
TIMES_REFUSED = {
    "words": "last%20week",
    "month-13": "2025-13-01T00:00:00Z",
    "hour-25": "2025-01-01T25:00:00Z",
    "second-60": "2025-01-01T23:59:60Z",
    "offset-24h": "2025-01-01T00:00:00%2B24:00",
    "offset-99h": "2025-01-01T00:00:00-99:00",
    "year-0": "0000-01-01T00:00:00Z",
    "year-10000": "10000-01-01T00:00:00Z",
    "unencoded-plus": "2025-01-01T00:00:00+01:00",
}
TIMES_READ = {
    "offset-16h": "2025-01-01T00:00:00%2B16:00",
    "offset-seconds": "2025-01-01T00:00:00%2B01:00:30",
    "offset-minus-16h": "2025-01-01T00:00:00-16:00",
    "offset-23-59": "2025-01-01T00:00:00%2B23:59",
    "offset-minus-23-59": "2025-01-01T00:00:00-23:59",
    "year-1-ahead": "0001-01-01T00:00:00%2B23:59",
    "year-9999-behind": "9999-12-31T23:59:59-23:59",
    "nanoseconds": "2025-01-01T00:00:00.123456789Z",
    "date-only": "2025-01-01",
    "india": "2025-01-01T05:30:00%2B05:30",
    "no-offset": "2025-01-01T00:00:00",
}
DATES_REFUSED = {
    "words": "yesterday",
    "feb-30": "2025-02-30",
    "year-0": "0000-01-01",
    "year-10000": "10000-01-01",
    "negative-year": "-0001-01-01",
    "a-time": "2025-01-01T00:00:00Z",
    "huge-year": "99999999-01-01",
}
DATES_READ = {"year-1": "0001-01-01", "year-9999": "9999-12-31", "leap-day": "2024-02-29"}
SEARCHES = {
    "quote": "%22",
    "quotes": "%22%22",
    "unclosed": "%22record%20low",
    "minus": "-",
    "minus-minus": "--a",
    "minus-phrase": "-%22a%20b%22",
    "or": "or",
    "or-or-or": "or%20OR%20or",
    "trailing-or": "ceasefire%20or",
    "tsquery-operators": "%26%7C!:*()",
    "tsquery-phrase": "a%3C-%3Eb",
    "prefix": "cease:*",
    "backslash": "%5C",
    "apostrophes": "'%3B%20DROP%20TABLE%20claims_claim%3B%20--",
    "emoji": "%F0%9F%99%82",
    "right-to-left": "%D7%A9%D7%9C%D7%95%D7%9D",
    "combining": "e%CC%81%CC%81%CC%81",
    "zero-width": "%E2%80%8B",
    "stopwords": "the%20a%20of",
    "long": "ceasefire%20" * 250,
    "one-long-word": "x" * 3000,
    "only-spaces": "%20%20%20",
    "control-characters": "%01%02%1F",
}


def _filter_probes() -> list[Probe]:
    probes = []
    for path in ("/api/v1/claims/", "/claims/"):
        for name in ("speaker", "status"):
            probes += [
                Probe(f"{name}-unknown", f"{path}?{name}=nobody", refused=name),
                Probe(f"{name}-long", f"{path}?{name}={'x' * 3000}", refused=name),
                Probe(f"{name}-slash", f"{path}?{name}=a%2Fb", refused=name),
            ]
        probes += [
            Probe("speaker-unpublished", f"{path}?speaker={{quiet}}", refused="speaker"),
            Probe("kind-unknown", f"{path}?kind=rumour", refused="kind"),
            Probe("kind-case", f"{path}?kind=FACT", refused="kind"),
            Probe("kind-empty", f"{path}?kind="),
        ]
        probes += [
            Probe(f"said_on_after-{k}", f"{path}?said_on_after={v}", refused="said_on_after")
            for k, v in DATES_REFUSED.items()
        ]
        probes += [Probe(f"said_on_before-{k}", f"{path}?said_on_before={v}") for k, v in DATES_READ.items()]
        probes += [
            Probe(f"updated_since-{k}", f"{path}?updated_since={v}", refused="updated_since")
            for k, v in TIMES_REFUSED.items()
        ]
        probes += [Probe(f"updated_since-{k}", f"{path}?updated_since={v}") for k, v in TIMES_READ.items()]
        probes += [
            Probe(f"q-{k}", f"{path}?q={v}") for k, v in SEARCHES.items() if path != "/claims/" or "o" in k
        ]
        probes.append(Probe("q-and-filters", f"{path}?q=%22cease&kind=fact&said_on_after=2025-01-01"))
    names = ("q", "speaker", "status", "kind", "said_on_before", "updated_since", "cursor", "page_size")
    probes += [
        Probe(f"{name}-{k}", f"/api/v1/claims/?{name}={v}", refused=name)
        for name in names
        for k, v in UNSAFE.items()
    ]
    probes += [
        Probe(f"page-{name}-{k}", f"/claims/?{name}={v}")
        for name in ("q", "cursor")
        for k, v in UNSAFE.items()
    ]
    return probes


def _number_probes() -> list[Probe]:
    probes = [
        Probe(f"page_size-{k}", f"/api/v1/claims/?page_size={v}", refused="page_size")
        for k, v in {**NOT_WHOLE_NUMBERS, "zero": "0"}.items()
    ]
    probes += [
        Probe(f"page_size-{k}", f"{path}?page_size={v}", refused="page_size")
        for path in ("/api/v1/speakers/", "/api/v1/sources/", "/api/v1/changes/")
        for k, v in {"zero": "0", "word": "ten", "huge": "9" * 30, "nul": "%00"}.items()
    ]
    probes += [
        Probe(f"page_size-{k}", f"{path}?page_size={v}")
        for path in ("/api/v1/claims/", "/api/v1/changes/")
        for k, v in {"empty": "", "capped": "100000", "bigint": str(2**63 - 1)}.items()
    ]
    probes += [
        Probe(f"after-{k}", f"/api/v1/changes/?after={v}", refused="after")
        for k, v in {**NOT_WHOLE_NUMBERS, **UNSAFE, "past-bigint": str(2**63)}.items()
    ]
    probes += [
        Probe(f"after-{k}", f"/api/v1/changes/?after={v}")
        for k, v in {"zero": "0", "bigint": str(2**63 - 1), "empty": ""}.items()
    ]
    # The events feed (issue 8): after, a claim's id, a speaker, event types; the Atom feeds' slugs.
    probes += [
        Probe(f"events-{name}-{k}", f"/api/v1/events/?{name}={v}", refused=name)
        for name, values in {
            "after": {"nul": UNSAFE["nul"], "past-bigint": str(2**63)},
            "claim": {"nul": UNSAFE["nul"], "decimal": "1.5"},
            "speaker": {"surrogate": UNSAFE["surrogate"], "unknown": "nobody"},
            "type": {
                "nul": UNSAFE["nul"],
                "surrogate": UNSAFE["surrogate"],
                "unknown": "claim.deleted",
                "one-bad": "claim.overdue,x",
            },
        }.items()
        for k, v in values.items()
    ]
    probes += [
        Probe(f"events-{k}", f"/api/v1/events/?{v}")
        for k, v in {
            "types": "type=claim.overdue,claim.corrected&type=claim.status_changed",
            "all-empty": "type=&claim=&speaker=&after=",
            "only-commas": "type=,,%2C",
            "claim-bigint": f"claim={2**63 - 1}",
        }.items()
    ]
    probes += [
        Probe("atom-claim-unknown", "/claims/nothing-here/feed/"),
        Probe("atom-speaker-unpublished", "/speakers/{quiet}/feed/"),
    ]
    # The corrections (issue 7): a claim's id, a page size.
    probes += [
        Probe(f"correction-claim-{k}", f"/api/v1/corrections/?claim={v}", refused="claim")
        for k, v in {**NOT_WHOLE_NUMBERS, **UNSAFE, "zero": "0", "past-bigint": str(2**63)}.items()
    ]
    probes += [
        Probe(f"correction-{k}", f"/api/v1/corrections/?{v}")
        for k, v in {
            "claim-bigint": f"claim={2**63 - 1}",
            "claim-empty": "claim=",
            "page_size-huge": "page_size=100000",
        }.items()
    ]
    probes += [
        Probe(f"corrections-page-{k}", f"/corrections/?page_size={v}") for k, v in NOT_WHOLE_NUMBERS.items()
    ]
    # Pages ignore a page size they cannot use.
    probes += [Probe(f"page-page_size-{k}", f"/claims/?page_size={v}") for k, v in NOT_WHOLE_NUMBERS.items()]
    probes += [Probe("speaker-page_size-huge", "/speakers/{speaker}/?page_size=" + "9" * 3000)]
    return probes


CURSORS = {
    "garbage": "not-a-cursor",
    "percent": "%25%25%25",
    "base64-json": "WyJjbGFpbXMiLCJmIixbXV0",
    "tampered": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 1]])[:-2] + "xx",
    "short": sign(["claims", "f", ["2025-01-01T00:00:00+00:00"]]),
    "long": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 1, 2]]),
    "no-offset": sign(["claims", "f", ["2025-01-01T00:00:00", 1]]),
    "offset-99h": sign(["claims", "f", ["2025-01-01T00:00:00+99:00", 1]]),
    "after-year-9999-in-utc": sign(["claims", "f", ["9999-12-31T23:59:59-23:59", 1]]),
    "before-year-1-in-utc": sign(["claims", "f", ["0001-01-01T00:00:00+23:59", 1]]),
    "nul": sign(["claims", "f", ["a\x00b", 1]]),
    "surrogate": sign(["claims", "f", ["\ud800", 1]]),
    "number-for-time": sign(["claims", "f", [20250101, 1]]),
    "string-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", "1"]]),
    "bool-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", True]]),
    "float-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 1.0]]),
    "zero-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 0]]),
    "negative-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", -1]]),
    "id-past-bigint": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 2**63]]),
    "huge-id": sign(["claims", "f", ["2025-01-01T00:00:00+00:00", 10**300]]),
    "direction": sign(["claims", "x", ["2025-01-01T00:00:00+00:00", 1]]),
    "null-values": sign(["claims", "f", [None, None]]),
    "nested-values": sign(["claims", "f", [["2025"], {"id": 1}]]),
    "object": sign({"claims": 1}),
    "null": sign(None),
    "string": sign("claims"),
    "search-nan-rank": sign(["search", "f", [float("nan"), "2025-01-01T00:00:00+00:00", 1]]),
    "search-infinite-rank": sign(["search", "f", [float("inf"), "2025-01-01T00:00:00+00:00", 1]]),
    "search-text-rank": sign(["search", "f", ["0.5", "2025-01-01T00:00:00+00:00", 1]]),
    "speaker-nul": sign(["speakers", "f", ["a\x00b", 1]]),
    "speaker-surrogate": sign(["speakers", "f", ["a\udc00", 1]]),
    "speaker-long": sign(["speakers", "f", ["x" * 1001, 1]]),
    "source-feb-30": sign(["sources", "f", ["2025-02-30", 1]]),
    "source-year-0": sign(["sources", "f", ["0000-01-01", 1]]),
    "source-time": sign(["sources", "b", ["2025-01-01T00:00:00+00:00", 1]]),
    "deep-json": sign_bytes(b"[" * 5000 + b"]" * 5000),
    "not-json": sign_bytes(b'["claims", "f", ['),
    "huge-number-json": sign_bytes(b'["claims", "f", ["2025-01-01T00:00:00+00:00", 1' + b"0" * 5000 + b"]]"),
}
# Cursors we could have made, with values PostgreSQL or Python would have refused before: read as the same
# instant in UTC, they page as any cursor does.
CURSORS_READ = {
    "offset-20h": sign(["claims", "f", ["2025-01-01T00:00:00+20:00", 1]]),
    "offset-minus-23h": sign(["claims", "b", ["2025-01-01T00:00:00-23:00", 1]]),
    "year-1": sign(["claims", "f", ["0001-01-01T00:00:00+00:00", 1]]),
    "speaker-emoji": sign(["speakers", "f", ["\U0001f642", 1]]),
    "source-year-1": sign(["sources", "f", ["0001-01-01", 1]]),
    "correction-text": sign(["corrections", "f", ["one"]]),
    "correction-zero": sign(["corrections", "b", [0]]),
    "correction-past-bigint": sign(["corrections", "f", [2**63]]),
}
CURSOR_LISTS = {
    "/api/v1/corrections/?": "correction",
    "/corrections/?": "correction",
    "/api/v1/claims/?q=ceasefire&": "search",
    "/api/v1/speakers/?": "speaker",
    "/api/v1/sources/?": "source",
    "/claims/?q=ceasefire&": "search",
    "/speakers/{speaker}/?": "offset",
}


def _cursor_probes() -> list[Probe]:
    # Every cursor on the claims list of the API and the page; on the other lists, those of their kind.
    probes = [
        Probe(f"cursor-{k}", f"{path}cursor={v}", refused="cursor")
        for path in ("/api/v1/claims/?", "/claims/?")
        for k, v in CURSORS.items()
    ]
    for path, kind in CURSOR_LISTS.items():
        probes += [
            Probe(f"cursor-{k}", f"{path}cursor={v}", refused="cursor")
            for k, v in CURSORS.items()
            if k.startswith(kind) or k in ("tampered", "deep-json", "object")
        ]
        probes += [Probe(f"cursor-{k}", f"{path}cursor={v}") for k, v in CURSORS_READ.items()]
    return probes


def _path_probes() -> list[Probe]:
    probes = []
    odd_ids = {
        "zero": "0",
        "negative": "-1",
        "decimal": "1.5",
        "word": "abc",
        "huge": "9" * 30,
        "very-long": "9" * 3000,
        "fullwidth": "%EF%BC%91",
        "nul": "%00",
        "surrogate": "%ED%A0%80",
        "not-utf8": "%FF",
        "encoded-slash": "1%2F2",
        "dot-dot": "%2E%2E",
        "semicolon": "1;x",
        "space": "1%20",
        "draft": "{draft}",
    }
    probes += [Probe(f"id-{k}", f"/api/v1/claims/{v}/") for k, v in odd_ids.items()]
    probes += [
        Probe(f"slug-{k}", f"/api/v1/speakers/{v}/") for k, v in {**odd_ids, "unpublished": "quiet"}.items()
    ]
    probes += [
        Probe(f"page-slug-{k}", f"/claims/{v}/") for k, v in {**odd_ids, "unicode": "%C3%BCn%C3%AF"}.items()
    ]
    probes += [
        Probe(f"{name}-{k}", f"/{name}/{v}/")
        for name in ("api/v1/sources", "api/v1/statuses", "speakers")
        for k, v in {"huge": "9" * 30, "nul": "%00", "word": "abc", "zero": "0", "draft": "{draft}"}.items()
    ]
    probes += [
        Probe(name, path)
        for name, path in {
            "api": "/api",
            "api-root": "/api/",
            "api-v2": "/api/v2/claims/",
            "api-unknown": "/api/v1/nothing/",
            "api-deeper": "/api/v1/claims/{claim}/verdicts/",
            "api-no-slash": "/api/v1/claims",
            "api-double-slash": "/api//v1/claims/",
            "api-format-suffix": "/api/v1/claims.json",
            "api-format-xml": "/api/v1/claims/?format=xml",
            "api-format-browsable": "/api/v1/claims/?format=api",
            "api-format-empty": "/api/v1/claims/?format=",
            "schema-json": "/api/schema/?format=json",
            "schema-unknown-format": "/api/schema/?format=xml",
            "schema-lang": "/api/schema/?lang=xx",
            "docs-query": "/api/docs/?url=http://evil.example/",
            "page-unknown": "/nowhere/",
            "static-missing": "/static/claims/missing.css",
            "static-traversal": "/static/..%2F..%2Ffactcheck%2Fsettings.py",
            "admin": "/admin/",
            "admin-unknown": "/admin/nothing/",
            "home-with-query": "/?q=%00x",
        }.items()
    ]
    unknown = {
        "misspelt": "speakr=ada",
        "other-case": "Speaker=ada",
        "array": "speaker%5B%5D=ada",
        "page": "page=2",
        "offset": "offset=10",
        "ordering": "ordering=-id",
        "empty-name": "=1",
        "no-value": "verbose",
        "long-name": "x" * 3000 + "=1",
    }
    probes += [
        Probe(f"unknown-{k}", f"/api/v1/claims/?{v}", refused=unquote(v.split("=")[0]))
        for k, v in unknown.items()
    ]
    probes += [
        Probe(f"unknown-{k}", f"{path}?{v}")
        for path in ("/api/v1/speakers/", "/api/v1/sources/", "/api/v1/statuses/", "/api/v1/changes/")
        for k, v in list(unknown.items())[:3]
    ]
    probes += [
        Probe("repeated-parameter", "/api/v1/claims/?kind=fact&kind=rumour", refused="kind"),
        Probe("repeated-page-size", "/api/v1/claims/?page_size=5&page_size=x", refused="page_size"),
        # Django reads at most 1,000 (and gunicorn a request line of at most 4 KB).
        Probe("too-many-parameters", "/api/v1/claims/?" + "&".join(["q"] * 1001)),
        Probe("only-ampersands", "/api/v1/claims/?&&&"),
        Probe("semicolons", "/api/v1/claims/?kind=fact;q=x"),
        Probe("percent-alone", "/api/v1/claims/?q=%"),
        Probe("percent-half", "/api/v1/claims/?q=%E"),
    ]
    return probes


METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "BREW"]
METHOD_TARGETS = [
    "/corrections/",
    "/corrections/feed/",
    "/api/v1/corrections/",
    "/claims/",
    "/claims/{slug}/",
    "/api/v1/",
    "/api/v1/claims/",
    "/api/v1/claims/{claim}/",
    "/api/v1/exports/claims.csv",
    "/api/schema/",
    "/api/docs/",
    "/api/nowhere/",
    "/admin/login/",
    "/static/claims/site.css",
]
NESTED = b"[" * 1000 + b'"\\u0041"' + b"]" * 1000  # about 2 KB
JSON = {"Content-Type": "application/json"}


def _method_and_body_probes() -> list[Probe]:
    probes = [Probe(f"{method}", target, method=method) for target in METHOD_TARGETS for method in METHODS]
    bodies = {
        "nested-json": (NESTED, JSON),
        "nested-json-with-nul": (b"[" * 1000 + b'"\\u0000"' + b"]" * 1000, JSON),
        "nested-objects": (b'{"a":' * 700 + b"1" + b"}" * 700, JSON),
        "lone-surrogate": (b'{"text": "\\ud800"}', JSON),
        "malformed-json": (b'{"text": ', JSON),
        "json-nul-byte": (b'{"text": "a\x00"}', JSON),
        "not-utf8": (b'{"text": "\xff"}', JSON),
        "form-nul": (b"text=a%00b", {"Content-Type": "application/x-www-form-urlencoded"}),
        "form-many-fields": (
            b"&".join(b"f%d=1" % n for n in range(1100)),
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "multipart-garbage": (b"--x\r\nnot really\r\n", {"Content-Type": "multipart/form-data; boundary=x"}),
        "multipart-no-boundary": (b"a", {"Content-Type": "multipart/form-data"}),
        "xml": (b"<claim/>", {"Content-Type": "application/xml"}),
        "problem-json": (NESTED, {"Content-Type": "application/problem+json"}),
        "no-content-type": (NESTED, {}),
        "big": (b"[" + b"1," * 1_500_000 + b"1]", JSON),  # 3 MB: more than Django reads into memory
    }
    probes += [
        Probe(f"POST-{k}", target, method="POST", body=body, headers=headers)
        for target in ("/claims/", "/api/v1/claims/", "/admin/login/")
        for k, (body, headers) in bodies.items()
    ]
    # The nested JSON of the issue, to any URL with any write method.
    probes += [
        Probe(f"{method}-nested-json", target, method=method, body=NESTED, headers=JSON)
        for target in ("/", "/api/v1/claims/{claim}/", "/api/schema/", "/api/nowhere/", "/nowhere/")
        for method in ("POST", "PUT", "PATCH", "DELETE")
    ]
    return probes


def _header_probes() -> list[Probe]:
    headers = {
        "accept-xml": {"Accept": "application/xml"},
        "accept-html": {"Accept": "text/html"},
        "accept-nothing": {"Accept": ""},
        "accept-garbage": {"Accept": ";;;,,,q=abc"},
        "accept-indent": {"Accept": "application/json; indent=1000000"},
        "accept-indent-word": {"Accept": "application/json; indent=abc"},
        "accept-many": {"Accept": ", ".join(f"type{n}/sub{n}" for n in range(500))},
        "accept-language": {"Accept-Language": "xx-;;q=abc, *;q=-1"},
        "host-unknown": {"Host": "evil.example"},
        "host-with-userinfo": {"Host": "user@127.0.0.1"},
        "host-empty": {"Host": ""},
        "cookie-garbage": {"Cookie": "sessionid=garbage; csrftoken=\x7f; ="},
        "cookie-long": {"Cookie": "sessionid=" + "x" * 3000},
        "forwarded-https": {"X-Forwarded-Proto": "https"},
        "forwarded-garbage": {"X-Forwarded-Proto": "gopher", "X-Forwarded-For": "not-an-ip"},
        "if-none-match": {"If-None-Match": '"garbage", W/""'},
        "if-modified-since": {"If-Modified-Since": "yesterday"},
        "range": {"Range": "bytes=999999-1"},
        "authorization-basic": {"Authorization": "Basic %%%"},
        "authorization-bearer": {"Authorization": "Bearer x"},
        "content-type-on-get": {"Content-Type": "application/json; charset=klingon"},
    }
    probes = [
        Probe(f"header-{k}", target, headers=h)
        for target in ("/api/v1/claims/", "/claims/")
        for k, h in headers.items()
    ]
    probes += [
        Probe(f"header-{k}", target, headers=headers[k])
        for target in ("/api/v1/claims/?kind=rumour", "/api/v1/claims/{claim}/", "/static/claims/site.css")
        for k in ("accept-xml", "accept-html", "host-unknown", "range")
    ]
    return probes


CORPUS = (
    _filter_probes()
    + _number_probes()
    + _cursor_probes()
    + _path_probes()
    + _method_and_body_probes()
    + _header_probes()
)


def _send(server: Server, probe: Probe, names: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    target = probe.target.format(**names)
    client = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        client.putrequest(probe.method, target, skip_host="Host" in probe.headers, skip_accept_encoding=True)
        headers = (
            {"Content-Length": str(len(probe.body))}
            if probe.body or probe.method in ("POST", "PUT", "PATCH")
            else {}
        )
        for name, value in {**headers, **probe.headers}.items():
            client.putheader(name, value.encode("latin-1") if isinstance(value, str) else value)
        client.endheaders(probe.body or None)
        response = client.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        client.close()


@pytest.mark.parametrize("probe", CORPUS, ids=[f"{n:03}-{p.method}-{p.label}" for n, p in enumerate(CORPUS)])
def test_bad_input_is_never_a_server_error(production_server, published, probe):
    logged = production_server.log_size()

    status, headers, body = _send(production_server, probe, published)

    assert status < 500, body[:2000]
    assert b"Traceback (most recent call last)" not in body
    log = production_server.log_since(logged)
    # What Django logs for a 5xx, and gunicorn for an error that escaped the app or a worker that hung.
    for line in ("Internal Server Error", "Error handling request", "WORKER TIMEOUT"):
        assert line not in log
    if "Traceback" in log:
        # Django logs what it refuses as suspicious (a Host it does not serve, too many parameters) with
        # the exception's traceback, and answers a 400.
        assert status == 400, log
    path = probe.target.split("?")[0]
    if (
        (path == "/api" or path.startswith("/api/"))
        and status >= 400
        and not _refused_by_gunicorn(status, body)
    ):
        assert headers["content-type"] == PROBLEM_CONTENT_TYPE
        if probe.method != "HEAD":
            problem = json.loads(body)
            assert set(problem) - {"errors"} == PROBLEM_FIELDS
            assert problem["status"] == status
    if probe.refused and path.startswith("/api/v1/"):
        assert status == 400
        assert probe.refused in json.loads(body)["errors"]


def _refused_by_gunicorn(status: int, body: bytes) -> bool:
    """gunicorn answers a request it cannot parse (an unknown method, a request line too long) itself."""
    return status == 400 and body.startswith(b"<html>")


def test_the_corpus_is_a_few_hundred_requests():
    assert 300 < len(CORPUS) < 900
    assert len(
        {(probe.method, probe.target, tuple(probe.headers.items()), probe.body) for probe in CORPUS}
    ) == len(CORPUS)


# schemathesis -----------------------------------------------------------------------------------------------


# What schemathesis checks: no 5xx, and every response as the document describes it (status, media type,
# headers, body). Schemathesis has no API key, so every write it sends (the POSTs, PATCHes and the DELETE the document
# lists), and every operation on the key holders' webhook endpoints (reads too), is the documented 401 problem with
# WWW-Authenticate; tests/test_api_keys.py and tests/test_webhooks_api.py send keys. Left out: a write is
# refused (401) before its method is looked at (the unsupported-method
# check wants 405), an empty value means "no filter" as the claim list's form sends it (the negative-data check
# wants a 400), and a well-formed slug or cursor can still name nothing (the positive-data check wants a 200).
SCHEMATHESIS_CONFIG = """
workers = 2
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_headers_conformance.enabled = true
response_schema_conformance.enabled = true

[generation]
deterministic = true
max-examples = 15

[phases.examples]
enabled = false
# The corpus above sends every method; here the coverage phase keeps to the documented ones.
[phases.coverage]
unexpected-methods = []
# The stateful phase follows links between operations: without a key no write succeeds, so there is nothing to chain.
[phases.stateful]
enabled = false
"""


def test_schemathesis_finds_nothing_wrong_with_the_api(production_server, published, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)

    done = subprocess.run(  # noqa: S603 (schemathesis's own command)
        [
            str(Path(sys.executable).parent / "schemathesis"),
            f"--config-file={config}",
            "--no-color",
            "run",
            f"{production_server.url}/api/schema/",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "26 selected / 26 total" in done.stdout
