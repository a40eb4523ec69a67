"""The floor: the API's claim reads written by hand, with psycopg 3 and orjson and no framework.

  FLOOR_DATABASE_URL=<the bench database> gunicorn -w 2 -b 127.0.0.1:PORT bench.floor:application

What `make bench` measures the app against (bench/load.py): the practical limit for Python on the machine, so
that the app's figures are read as ratios to it, and machine noise cancels out. To mean anything it must do the
work the API does for the same request, no less:
- the same SQL shape as the API's read path (ClaimQuerySet.for_listing, with_timeline, with_corrections,
  with_quote_context and search, as claims.api.views.ClaimViewSet combines them): one query a list page or a
  search page (LIMIT page_size + 1, the extra row saying whether more follow), two a claim;
- the same JSON, byte for byte where the floor writes it (the list's and the detail's current shape, overdue
  and the quote in its paragraph included: tests/test_bench_floor.py compares them with the API's);
- links built per request from the Host header, as the API's are.

What it leaves out is what the project adds around the reads: Django's request cycle, the middleware, the site
clock's query, the throttle's upsert, filters, and any check of bad input beyond not crashing. Its cursor is its
own (base64 of the position, unsigned): a floor has no secrets to keep.

Serves GET /api/v1/claims/ (?page_size=, ?cursor=, ?q=) and /api/v1/claims/<id>/, nothing else.
"""

from __future__ import annotations

import base64
import os
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg.types.json import set_json_loads

# The one pure-Python piece of the project the floor uses: cutting a verified quote's paragraph out of the
# window the query reads (no Django behind it). Writing it again here would only be a copy.
from claims.quotes import paragraph_around

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
QUOTE_WINDOW_CHARS = 1000  # claims.models.QUOTE_WINDOW_CHARS
TRACKED_KINDS = ("promise", "prediction")
# The search's near-spellings (claims.models._near_spelling): its rule, in SQL of the same shape.
NEAR_SPELLING_MIN_LENGTH = 4
NEAR_SPELLING_MAX_WORDS = 5
NEAR_SPELLING_RANK_OFFSET = -2.0
WEBSEARCH_TERM = re.compile(r'"[^"]*"?|[^\s"]+')

CLAIM_COLUMNS = """
    c.id, c.slug, c.text, c.quote, c.fidelity, c.quote_snapshot_id IS NOT NULL, c.kind,
    sp.id, sp.slug, sp.name, sp.role,
    so.id, so.title, so.publisher, so.url, so.published_on,
    c.said_on, c.due_on, st.slug, st.label, st.scale, st.position, st.is_open,
    c.status_changed_at, c.created_at, c.updated_at"""
CLAIM_JOINS = """
    FROM claims_claim c
    JOIN claims_status st ON st.id = c.status_id
    JOIN claims_speaker sp ON sp.id = c.speaker_id
    JOIN claims_source so ON so.id = c.source_id"""
# Published claims, latest status change first: claims_claim_latest_idx. {after} is the cursor's row
# comparison, {order} the direction (ascending to page back).
LIST_SQL = f"""SELECT {CLAIM_COLUMNS} {CLAIM_JOINS}
    WHERE c.status_id IS NOT NULL {{after}}
    ORDER BY c.status_changed_at {{order}}, c.id {{order}} LIMIT %(limit)s"""
# With the API's corrections (JSON objects, newest first: one JSON array, which orjson parses at once, where the
# API reads an array of JSON values) and the verified quote's window of the
# archived text, in the claim's own query. (Made of this module's constants: no input is formatted in.)
DETAIL_SQL = f"""SELECT {CLAIM_COLUMNS}, c.version, c.quote_start, c.quote_end,
    GREATEST(c.quote_start - {QUOTE_WINDOW_CHARS}, 0),
    SUBSTRING(snap.text, GREATEST(c.quote_start - {QUOTE_WINDOW_CHARS}, 0) + 1,
              c.quote_end - GREATEST(c.quote_start - {QUOTE_WINDOW_CHARS}, 0) + {QUOTE_WINDOW_CHARS}),
    snap.captured_at,
    (SELECT COALESCE(json_agg(json_build_object('id', co.id, 'note', co.note, 'changes', co.changes,
                                                'published_at', co.published_at) ORDER BY co.id DESC), '[]')
     FROM claims_correction co WHERE co.claim_id = c.id)
    {CLAIM_JOINS}
    LEFT JOIN claims_sourcesnapshot snap ON snap.id = c.quote_snapshot_id
    WHERE c.status_id IS NOT NULL AND c.id = %s"""  # noqa: S608
# The published verdicts, newest first, each with its evidence as one JSON array (claims_verdict_claim_idx).
# The floor is the practical limit: where a cheaper form of the same result exists, it takes it.
VERDICTS_SQL = """SELECT v.id, st.slug, st.label, st.scale, st.position, v.summary, v.explanation,
    (SELECT COALESCE(json_agg(json_build_object(
                'source', json_build_object('id', e.source_id, 'title', so.title, 'publisher', so.publisher,
                                            'url', so.url, 'published_on', so.published_on),
                'note', e.note) ORDER BY e.position, e.id), '[]')
     FROM claims_evidence e JOIN claims_source so ON so.id = e.source_id WHERE e.verdict_id = v.id),
    v.published_at
    FROM claims_verdict v JOIN claims_status st ON st.id = v.status_id
    WHERE v.published_at IS NOT NULL AND v.claim_id = %s
    ORDER BY v.published_at DESC NULLS FIRST, v.id DESC"""

DETAIL_PATH = re.compile(r"/api/v1/claims/(\d{1,18})/")
JSON_HEADERS = [("Content-Type", "application/json")]

# orjson parses the JSON columns (corrections, evidence), as it writes the answer.
set_json_loads(orjson.loads)

_connection: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    """One connection a process, opened on first use (after gunicorn forks), reopened if lost; statements
    prepared on the server from their first run, as the Django connection's are not."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
        _connection.prepare_threshold = 0
        # Times come back in the site's zone, as DRF writes them (TIME_ZONE, UTC unless set).
        _connection.execute(
            "SELECT set_config('TimeZone', %s, false)", (os.environ.get("TIME_ZONE") or "UTC",)
        )
    return _connection


def application(environ: dict, start_response):  # type: ignore[no-untyped-def]
    path = environ.get("PATH_INFO", "")
    params = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        if path == "/api/v1/claims/":
            body = claim_list(environ, params)
        elif match := DETAIL_PATH.fullmatch(path):
            body = claim_detail(environ, int(match.group(1)))
        else:
            body = None
    except ValueError:
        start_response("400 Bad Request", JSON_HEADERS)
        return [b'{"detail":"Bad request."}']
    if body is None:
        start_response("404 Not Found", JSON_HEADERS)
        return [b'{"detail":"Not found."}']
    start_response("200 OK", [*JSON_HEADERS, ("Content-Length", str(len(body)))])
    return [body]


def claim_list(environ: dict, params: dict[str, list[str]]) -> bytes:
    """A page of published claims, latest first, or of a search's matches, best first."""
    size = min(int(params.get("page_size", [DEFAULT_PAGE_SIZE])[0]), MAX_PAGE_SIZE)
    if size < 1:
        raise ValueError(size)
    cursor = params.get("cursor", [""])[0]
    position, backward = decode_cursor(cursor) if cursor else (None, False)
    query = params.get("q", [""])[0].strip()
    sql, args, rank = search_sql(query) if query else (LIST_SQL, {}, "")
    keys = f"{rank}, c.status_changed_at, c.id" if query else "c.status_changed_at, c.id"
    after = ""
    if position is not None:
        marks = ", ".join(f"%(p{n})s" for n in range(len(position)))
        after = f"AND ({keys}) {'>' if backward else '<'} ({marks})"
        args.update({f"p{n}": value for n, value in enumerate(position)})
    args["limit"] = size + 1
    sql = sql.format(after=after, order="ASC" if backward else "DESC")
    with connection().cursor() as cur:
        rows = cur.execute(sql, args).fetchall()
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    has_next, has_previous = (True, more) if backward else (more, position is not None)
    base = host_url(environ)
    site = os.environ.get("SITE_URL", "").rstrip("/") or base
    today = local_today()
    here = (
        base
        + environ.get("PATH_INFO", "")
        + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
    )

    # A row's position: its rank (a search's last column), status change and id.
    def position_of(row: tuple) -> list:
        return [*row[26:27], row[23], row[0]] if query else [row[23], row[0]]

    return dumps(
        {
            "next": link(here, encode_cursor(position_of(rows[-1]))) if rows and has_next else None,
            "previous": (
                link(here, encode_cursor(position_of(rows[0]), backward=True))
                if rows and has_previous
                else None
            ),
            "results": [claim_json(row, base, site, today) for row in rows],
        }
    )


def search_sql(text: str) -> tuple[str, dict, str]:
    """ClaimQuerySet.search's query: full text (websearch syntax) ranked by ts_rank, or, for a plain word of
    four letters or more, a speaker's name spelled like it (pg_trgm's %>, on its trigram index), ranked below
    every full-text match. The rank is the last column; its expression is returned for a cursor's comparison
    (a WHERE cannot name a column of the select list), as the API's row comparison compiles it too."""
    fulltext = "c.search @@ websearch_to_tsquery('english', %(q)s)"
    rank = "ts_rank(c.search, websearch_to_tsquery('english', %(q)s))::float8"
    args: dict = {"q": text}
    terms = WEBSEARCH_TERM.findall(text)
    plain = [term for term in terms if not term.startswith(('"', "-"))]
    near = [word for word in plain if len(word) >= NEAR_SPELLING_MIN_LENGTH][:NEAR_SPELLING_MAX_WORDS]
    if any(term.lower() == "or" for term in terms) or not near:
        condition = fulltext
    else:
        args.update({f"w{n}": word for n, word in enumerate(plain)})
        near_marks = [f"%(w{plain.index(word)})s" for word in near]
        each = []
        for n, word in enumerate(plain):
            words = f"websearch_to_tsquery('english', %(w{n})s)"
            spelled = f" OR c.speaker_name %%> %(w{n})s" if word in near else ""
            each.append(f"(c.search @@ {words} OR numnode({words}) = 0{spelled})")
        rest = " ".join(term for term in terms if term.startswith(('"', "-")))
        if rest:
            args["rest"] = rest
            each.append("c.search @@ websearch_to_tsquery('english', %(rest)s)")
        any_near = " OR ".join(f"c.speaker_name %%> {mark}" for mark in near_marks)
        condition = f"({fulltext} OR (({any_near}) AND {' AND '.join(each)}))"
        similarity = ", ".join(f"word_similarity({mark}, c.speaker_name)" for mark in near_marks)
        best = f"GREATEST({similarity})" if len(near) > 1 else similarity
        rank = f"CASE WHEN {fulltext} THEN {rank} ELSE ({best})::float8 + {NEAR_SPELLING_RANK_OFFSET} END"
    sql = f"""SELECT {CLAIM_COLUMNS}, {rank} AS rank {CLAIM_JOINS}
        WHERE c.status_id IS NOT NULL AND {condition} {{after}}
        ORDER BY rank {{order}}, c.status_changed_at {{order}}, c.id {{order}} LIMIT %(limit)s"""
    return sql, args, rank


def claim_detail(environ: dict, claim_id: int) -> bytes | None:
    """A published claim with its verdicts (newest first, each with its evidence) and its corrections."""
    with connection().cursor() as cur:
        row = cur.execute(DETAIL_SQL, (claim_id,)).fetchone()
        if row is None:
            return None
        verdicts = cur.execute(VERDICTS_SQL, (claim_id,)).fetchall()
    base = host_url(environ)
    site = os.environ.get("SITE_URL", "").rstrip("/") or base
    claim = claim_json(row, base, site, local_today())
    version, quote_start, quote_end, window_start, window, captured_at, corrections = row[26:33]
    claim["version"] = version
    claim["quote_context"] = None
    if row[5] and window is not None:
        offset = quote_start - window_start
        found = paragraph_around(window, offset, offset + quote_end - quote_start)
        claim["quote_context"] = {
            "before": found.before,
            "quote": found.quote,
            "after": found.after,
            "source_url": row[14],
            "captured_at": captured_at,
        }
    claim["verdicts"] = [
        {
            "id": v[0],
            "status": {"slug": v[1], "label": v[2], "scale": v[3], "position": v[4]},
            "summary": v[5],
            "explanation": v[6],
            "evidence": v[7],
            "published_at": v[8],
        }
        for v in verdicts
    ]
    claim["corrections"] = [
        {
            "id": c["id"],
            "note": c["note"],
            "changes": c["changes"],
            "at": datetime.fromisoformat(c["published_at"]),
        }
        for c in corrections
    ]
    return dumps(claim)


def claim_json(row: tuple, base: str, site: str, today: date) -> dict:
    """A claim in the API's list shape (claims.api.serializers.ClaimSerializer), from CLAIM_COLUMNS."""
    kind, due_on = row[6], row[17]
    overdue_since = (
        due_on + timedelta(days=1)
        if kind in TRACKED_KINDS and due_on is not None and due_on < today and row[22]
        else None
    )
    return {
        "id": row[0],
        "slug": row[1],
        "text": row[2],
        "quote": row[3],
        "fidelity": row[4],
        "quote_verified": row[4] == "verbatim" and row[5],
        "kind": kind,
        "speaker": {"id": row[7], "slug": row[8], "name": row[9], "role": row[10]},
        "source": {
            "id": row[11],
            "title": row[12],
            "publisher": row[13],
            "url": row[14],
            "published_on": row[15],
        },
        "said_on": row[16],
        "due_on": due_on,
        "overdue": overdue_since is not None,
        "overdue_since": overdue_since,
        "status": {"slug": row[18], "label": row[19], "scale": row[20], "position": row[21]},
        "status_changed_at": row[23],
        "url": f"{base}/api/v1/claims/{row[0]}/",
        "html_url": f"{site}/claims/{row[1]}/",
        "created_at": row[24],
        "updated_at": row[25],
    }


def dumps(data: dict) -> bytes:
    """JSON as DRF's renderer writes it: compact, UTF-8, times with Z for UTC, and U+2028/U+2029 escaped
    (JSON allows them raw, JavaScript before ES2019 did not)."""
    body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
    if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return body


def host_url(environ: dict) -> str:
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}"


def local_today() -> date:
    """Today in the site's zone: what overdue is reckoned from."""
    return datetime.now(ZoneInfo(os.environ.get("TIME_ZONE") or "UTC")).date()


def link(url: str, cursor: str) -> str:
    """The request's URL with ?cursor= set, the parameters sorted (as DRF's replace_query_param does)."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params["cursor"] = [cursor]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def encode_cursor(position: list, *, backward: bool = False) -> str:
    """A position ([rank,] status_changed_at, id) and the direction, in base64."""
    keys = [value.isoformat() if isinstance(value, datetime) else repr(value) for value in position]
    return base64.urlsafe_b64encode(("b" if backward else "f").encode() + "|".join(keys).encode()).decode()


def decode_cursor(raw: str) -> tuple[list, bool]:
    try:
        text = base64.urlsafe_b64decode(raw.encode()).decode()
    except Exception as error:  # binascii.Error, UnicodeDecodeError: both are the client's
        raise ValueError(raw) from error
    keys = text[1:].split("|")
    position: list = [datetime.fromisoformat(keys[-2]), int(keys[-1])]
    if len(keys) == 3:
        position.insert(0, float(keys[0]))
    return position, text[:1] == "b"
