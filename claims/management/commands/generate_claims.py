"""`manage.py generate_claims N`: synthetic claims for benchmarks (bench/), inserted by PostgreSQL itself.

Each claim gets one published verdict and its StatusChange, so it is public. Rows are made with
INSERT … SELECT over generate_series: a million claims took about a minute before the trigram indexes of
migration 0018; with them, 95,000 took 80 s on a busy two-core machine (several GIN entries per row). Never run it on a real database:
it refuses unless the database name ends in "bench" or --i-know is given.

The database lets a claim's status be only its latest published verdict's (migration 0007), and a claim
must exist before its verdict: row by row, that would mean inserting each claim unrated and updating it
after its verdict, twice the writes. Instead, as the tables' owner, this command switches off the insert
check, the published verdicts' check at commit and the changes feed's row-by-row order check for its own
transaction only (holding the feed's lock
throughout, its times starting after the feed's latest entry), and before committing checks every row it
made in one set-based query, so the rules hold for its rows as for any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError
from django.db import connection, transaction

from claims.audit import RecordedCommand
from claims.events import lock_the_change_feed
from claims.models import Status

START_AT = datetime(2025, 1, 1, tzinfo=UTC)

SQL = """
-- Foreign keys checked row by row (the rows come in dependency order): no checks are left pending, so the
-- trigger switch below can be undone within the transaction.
SET CONSTRAINTS ALL IMMEDIATE;

INSERT INTO claims_speaker (created_at, updated_at, name, slug, role, description, url)
SELECT now(), now(), 'Bench Speaker ' || s, 'bench-speaker-' || s, 'Minister', '', ''
FROM generate_series(1, %(speakers)s) s
ON CONFLICT (slug) DO NOTHING;

INSERT INTO claims_source (created_at, updated_at, title, publisher, authors, url, published_on)
VALUES (now(), now(), 'Bench source', 'Bench', '', 'https://bench.example/source', '2025-05-19')
ON CONFLICT (url) DO NOTHING;

CREATE TEMP TABLE bench_words (i int, w text) ON COMMIT DROP;
INSERT INTO bench_words SELECT i, w FROM unnest(
    ARRAY['ceasefire','talks','prisoner','exchange','memorandum','sanctions','treaty','negotiations','border',
          'election','budget','inflation','tariff','pipeline','grain','energy','summit','troops','aid','vote']
) WITH ORDINALITY AS t(w, i);

ALTER TABLE claims_claim DISABLE TRIGGER claims_claim_status_on_insert;
ALTER TABLE claims_change DISABLE TRIGGER claims_change_in_order;
ALTER TABLE claims_verdict DISABLE TRIGGER claims_verdict_published_is_recorded;

INSERT INTO claims_claim (created_at, updated_at, slug, text, quote, fidelity, kind, said_on, due_on, speaker_name,
                          status_changed_at, source_id, speaker_id, status_id)
SELECT now(), now(), 'bench-claim-' || n,
       'Claim ' || n || ' says the ' || a.w || ' and the ' || b.w || ' will change.',
       -- A speaker's quote from the source is one claim (claims_claim_quote_uniq): the number keeps each apart.
       'the ' || b.w || ' is ' || c.w || ', ' || n, 'paraphrase', 'fact', DATE '2025-01-01' + (n %% 365), NULL, '',
       %(start_at)s::timestamptz + n * INTERVAL '1 second',
       (SELECT id FROM claims_source WHERE url = 'https://bench.example/source'),
       (SELECT id FROM claims_speaker WHERE slug = 'bench-speaker-' || (1 + n %% %(speakers)s)),
       (ARRAY[%(statuses)s])[1 + n %% %(status_count)s]
FROM generate_series(%(start)s, %(stop)s) n
JOIN bench_words a ON a.i = 1 + n %% 20
JOIN bench_words b ON b.i = 1 + (n / 20) %% 20
JOIN bench_words c ON c.i = 1 + (n / 400) %% 20;

INSERT INTO claims_verdict (scale, summary, explanation, published_at, created_at, claim_id, status_id)
SELECT 'accuracy', 'Checked.', '', c.status_changed_at, now(), c.id, c.status_id
FROM claims_claim c WHERE c.slug LIKE 'bench-claim-%%' AND c.id > %(last_id)s;

-- The id is the trigger's to draw (0007); with the trigger off, drawn here in the feed's order.
INSERT INTO claims_change (id, published_at, claim_id, from_status_id, to_status_id, verdict_id)
SELECT nextval('claims_change_id_seq'), v.* FROM (
    SELECT v.published_at, v.claim_id, NULL::bigint, v.status_id, v.id
    FROM claims_verdict v WHERE v.claim_id > %(last_id)s ORDER BY v.published_at, v.id
) AS v;

ALTER TABLE claims_verdict ENABLE TRIGGER claims_verdict_published_is_recorded;
ALTER TABLE claims_change ENABLE TRIGGER claims_change_in_order;
ALTER TABLE claims_claim ENABLE TRIGGER claims_claim_status_on_insert;
"""

# What 0007's triggers would have refused, row by row, checked over all new rows at once: claims whose
# status is not their (one) verdict's (each verdict has its change: both are inserted from the same rows),
# and changes published before the change before them.
CHECK = """
SELECT (SELECT count(*) FROM claims_claim c
        LEFT JOIN claims_verdict v ON v.claim_id = c.id AND v.published_at IS NOT NULL
        WHERE c.id > %(last_id)s
          AND (v.id IS NULL OR (c.status_id, c.status_changed_at) IS DISTINCT FROM (v.status_id, v.published_at))),
       (SELECT count(*) FROM (
            SELECT published_at < lag(published_at) OVER (ORDER BY id) AS backwards FROM claims_change
            WHERE id >= %(last_change_id)s) AS feed
        WHERE backwards)
"""


class Command(RecordedCommand):
    help = "Insert N synthetic public claims (with a verdict and a change each) for benchmarks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("count", type=int)
        parser.add_argument("--speakers", type=int, default=500)
        parser.add_argument("--i-know", action="store_true", help="Allow a database not named *bench.")

    def handle(self, *args, count: int, speakers: int, i_know: bool, **options) -> None:
        name = connection.settings_dict["NAME"]
        if not name.endswith("bench") and not i_know:
            raise CommandError(f"Refusing to add synthetic claims to {name!r}: use a *bench database.")
        statuses = list(Status.objects.filter(scale="accuracy").values_list("id", flat=True))
        if not statuses:
            raise CommandError("Load the statuses first: manage.py loaddata statuses")
        with transaction.atomic(), connection.cursor() as cursor:
            lock_the_change_feed()
            cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM claims_claim")
            existing, last_id = cursor.fetchone()
            cursor.execute("SELECT id, published_at FROM claims_change ORDER BY id DESC LIMIT 1")
            last_change_id, latest = cursor.fetchone() or (0, START_AT)
            start_at = max(START_AT, latest)
            params = {
                "speakers": speakers,
                "statuses": ",".join(str(s) for s in statuses),
                "status_count": len(statuses),
                "start": existing + 1,
                "stop": existing + count,
                "last_id": last_id,
                "start_at": start_at,
            }
            # The status id list is made of integers read above, never of outside input.
            cursor.execute(SQL.replace("%(statuses)s", params.pop("statuses")), params)
            cursor.execute(CHECK, {"last_id": last_id, "last_change_id": last_change_id})
            wrong_status, backwards = cursor.fetchone()
            if wrong_status or backwards:  # raising rolls the whole transaction back, trigger switch included
                raise CommandError(
                    f"Generated {wrong_status} claim(s) without their verdict's status and {backwards} "
                    "change(s) out of time order: nothing was added."
                )
        self.stdout.write(f"Added {count} claims ({existing + count} in all).")
