"""A speaker's quote from a source is one claim; a claim much like another is saved only once confirmed.

The exact duplicate (same speaker, same source, same normalised quote) is refused by claims.services.save_claim
with a link to the claim that has it, by the admin's form with the same link, and by the database's unique
constraint when two editors save it at once (two real connections). The "Similar claims" panel lists the
claims most like the one being written, the same speaker's first.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Value
from django.urls import reverse
from django_webtest import DjangoTestApp
from playwright.sync_api import expect

from claims.models import WHITE_SPACE_RUN, Claim, Fidelity, Kind, _normalise_quote, normalised_quote_sql
from claims.services import save_claim
from tests.factories import make_claim, make_rated_claim, make_source, make_speaker, make_user
from tests.test_admin_browser import editor_page
from tests.test_browser import CHROMIUM
from tests.test_write_path import Held, InThread, someone_waits_for_a_lock, wait_until

QUOTE = "We will win this war, and we will win it this year."


def new_claim(**fields) -> Claim:
    """A claim not saved yet, for save_claim."""
    fields.setdefault("speaker", make_speaker())
    fields.setdefault("source", make_source())
    fields.setdefault("slug", f"claim-{Claim.objects.count() + 1}-{fields['speaker'].pk}")
    fields.setdefault("text", "The war will be won this year.")
    fields.setdefault("said_on", date(2025, 5, 19))
    # A quote not given a fidelity is checked as verbatim against the source's archived text; these
    # sources have none, and the duplicate check is the point here, not the quote's fidelity.
    if fields.get("quote") and "fidelity" not in fields:
        fields["fidelity"] = Fidelity.PARAPHRASE
    return Claim(kind=Kind.FACT, **fields)


def admin_change_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


# The normalised quote: one rule in SQL and in Python ------------------------------------------------------

TRICKY_QUOTES = [
    "",
    "   ",
    "plain words",
    "  leading and trailing  ",
    "\u201cCurly double\u201d and \u2018curly single\u2019 and \u201elow\u201f \u00abguillemets\u00bb",
    "primes \u2032 and \u2033, a reversed \u201b",
    "dashes \u2010 \u2011 \u2012 \u2013 \u2014 \u2015 and minus \u2212 5",
    "tabs\tand\nnew lines\r\nand\u000bvertical\u000cfeeds",
    "no-break\u00a0space, thin\u2009space, narrow\u202fno-break, ideographic\u3000space",
    "line\u2028and paragraph\u2029separators, next line\u0085here, ogham\u1680space",
    "file\u001cgroup\u001drecord\u001eunit\u001fseparators",
    "zero\u200bwidth space is not white space",
    "Case Is Kept: ÉCOLE école",
    "emoji 🇺🇦 and  combining e\u0301",
    "\u00a0\u2003 only white space around \u3000\n",
]


@pytest.mark.django_db
@pytest.mark.parametrize("quote", TRICKY_QUOTES)
def test_the_database_normalises_a_quote_exactly_as_python_does(quote):
    with connection.cursor() as cursor:
        compiled = Claim.objects.annotate(n=normalised_quote_sql(Value(quote))).values("n").query
        sql, params = compiled.sql_with_params()
        # Only the expression: the query is over no rows, so it is read from a one-row SELECT instead.
        expression = sql[len("SELECT ") : sql.index(' AS "n"')]
        cursor.execute(f"SELECT {expression}", params)
        assert cursor.fetchone()[0] == _normalise_quote(quote)


@pytest.mark.django_db
def test_the_stored_normalised_quote_is_the_python_rule_applied_to_the_quote(statuses):
    claims = [make_claim(quote=quote) for quote in TRICKY_QUOTES]
    stored = dict(Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list("pk", "quote_normalised"))
    assert [stored[c.pk] for c in claims] == [_normalise_quote(q) for q in TRICKY_QUOTES]


def test_the_rules_white_space_is_exactly_what_python_calls_white_space():
    # So str.split() and str.strip() (which the quotes branch's normalise may use) agree with the SQL.
    every = (chr(code) for code in range(sys.maxunicode + 1))
    listed = re.compile(WHITE_SPACE_RUN)
    assert {c for c in every if listed.fullmatch(c)} == {
        chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()
    }


def test_the_normalised_quote_folds_marks_dashes_and_white_space_but_not_case():
    assert (
        _normalise_quote("  \u201cWe\u2019ll win\u201d \u2014 soon\u00a0\u00a0now\n")
        == '"We\'ll win" - soon now'
    )
    assert _normalise_quote("We Will") != _normalise_quote("we will")


# save_claim refuses an exact duplicate ------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_the_same_quote_of_the_same_speaker_from_the_same_source_is_refused_with_a_link(statuses):
    first = make_claim(quote=QUOTE, text="The <b>war</b> will be won this year.")
    duplicate = new_claim(speaker=first.speaker, source=first.source, quote=QUOTE)

    with pytest.raises(ValidationError) as refused:
        save_claim(claim=duplicate)

    [message] = refused.value.message_dict["quote"]
    assert f'<a href="{admin_change_url(first)}">' in message
    # The claim's text is escaped inside the link.
    assert "The &lt;b&gt;war&lt;/b&gt; will be won this year." in message
    assert Claim.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variant",
    [
        "We will win this war, and we will win it this year.",
        "  We will  win this war,\nand we will win it this year. ",
        "We\u00a0will win this war, and we will win it this\u2009year.",
    ],
)
def test_white_space_variants_of_a_quote_are_duplicates(statuses, variant):
    first = make_claim(quote=QUOTE)
    with pytest.raises(ValidationError):
        save_claim(claim=new_claim(speaker=first.speaker, source=first.source, quote=variant))
    assert Claim.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("saved", "again"),
    [
        ("\u201cIt\u2019s over\u201d \u2013 he said", '"It\'s over" - he said'),
        ("It's 5 \u2212 3 \u2014 not \u00abtwo\u00bb", 'It\'s 5 - 3 - not "two"'),
        ("\u2018Single\u2019 \u201cdouble\u201d", "'Single' \"double\""),
    ],
)
def test_curly_and_straight_quotation_marks_and_dashes_are_duplicates(statuses, saved, again):
    first = make_claim(quote=saved)
    with pytest.raises(ValidationError):
        save_claim(claim=new_claim(speaker=first.speaker, source=first.source, quote=again))


@pytest.mark.django_db
def test_another_source_another_speaker_another_case_or_no_quote_is_not_a_duplicate(statuses):
    first = make_claim(quote=QUOTE)
    kept = [
        save_claim(claim=new_claim(speaker=first.speaker, source=make_source(), quote=QUOTE, slug="a")),
        save_claim(claim=new_claim(speaker=make_speaker(), source=first.source, quote=QUOTE, slug="b")),
        save_claim(
            claim=new_claim(speaker=first.speaker, source=first.source, quote=QUOTE.upper(), slug="c")
        ),
        # Paraphrases (no quote) of one speaker in one source are never compared.
        save_claim(claim=new_claim(speaker=first.speaker, source=first.source, quote="", slug="d")),
        save_claim(claim=new_claim(speaker=first.speaker, source=first.source, quote="  ", slug="e")),
    ]
    assert all(claim.pk is not None for claim in kept)
    assert Claim.objects.count() == 6


@pytest.mark.django_db
def test_editing_a_claim_with_a_quote_is_not_a_duplicate_of_itself_but_taking_anothers_quote_is(statuses):
    first = make_claim(quote=QUOTE)
    second = make_claim(speaker=first.speaker, source=first.source, quote="Another sentence entirely.")

    first.text = "The war will be won this year, he says."
    save_claim(claim=first)
    second.quote = QUOTE.replace(" ", "  ")
    with pytest.raises(ValidationError) as refused:
        save_claim(claim=second)

    assert admin_change_url(first) in refused.value.message_dict["quote"][0]
    second.refresh_from_db()
    assert second.quote == "Another sentence entirely."


@pytest.mark.django_db
def test_the_database_refuses_a_duplicate_written_past_the_service(statuses):
    first = make_claim(quote=QUOTE)
    with pytest.raises(IntegrityError, match="claims_claim_quote_uniq"), transaction.atomic():
        make_claim(speaker=first.speaker, source=first.source, quote=f" {QUOTE}\u00a0")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_editors_saving_the_same_quote_at_once_save_one_claim_and_refuse_the_other(statuses):
    speaker, source = make_speaker(), make_source()
    with Held(
        lambda: save_claim(claim=new_claim(speaker=speaker, source=source, quote=QUOTE, slug="first"))
    ) as first:
        # The second editor's check cannot see the first claim (not committed): its insert waits on the
        # unique index until the first commits, then fails, and is refused as the check would have.
        second = InThread(
            lambda: save_claim(
                claim=new_claim(speaker=speaker, source=source, quote=f"{QUOTE} ", slug="second")
            )
        )
        assert wait_until(someone_waits_for_a_lock)

    with pytest.raises(ValidationError) as refused:
        second.wait()

    saved = Claim.objects.get(slug="first")
    assert first.result.pk == saved.pk
    assert f'<a href="{admin_change_url(saved)}">' in refused.value.message_dict["quote"][0]
    assert list(Claim.objects.values_list("slug", flat=True)) == ["first"]


# The admin: the duplicate's link, the similar claims and the confirmation ----------------------------------


@pytest.fixture
def editor(statuses):
    return make_user(editor=True)


@pytest.fixture
def editor_app(django_app, editor) -> DjangoTestApp:
    django_app.set_user(editor)
    return django_app


def add_form(app: DjangoTestApp, **values: object):
    form = app.get(reverse("admin:claims_claim_add")).forms["claim_form"]
    for name, value in values.items():
        # The autocomplete selects start without options: a browser's select2 adds the chosen one.
        if name in ("speaker", "source"):
            form[name].force_value(str(value))
        else:
            form[name] = value
    return form


@pytest.mark.django_db
def test_the_admin_refuses_a_duplicate_quote_with_a_link_to_the_claim_that_has_it(editor_app):
    first = make_claim(quote=QUOTE, text="Victory <this year>.")
    response = add_form(
        editor_app,
        text="A new text for the same words.",
        speaker=first.speaker.pk,
        source=first.source.pk,
        quote=f"\u00a0{QUOTE}",
        said_on="2025-05-19",
    ).submit()

    assert response.status_code == 200
    page = response.text
    errors = page[page.index('class="errorlist') :]
    assert f'<a href="{admin_change_url(first)}">Victory &lt;this year&gt;.</a>' in errors
    # Django's own check of the constraint stands aside: one message, not two.
    assert "already a claim" in page and page.count("already a claim") == 1
    assert Claim.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admin_refuses_a_duplicate_saved_meanwhile_with_a_message_and_a_link(editor_app):
    speaker, source = make_speaker(), make_source()
    form = add_form(
        editor_app,
        text="A claim two editors enter at once.",
        speaker=speaker.pk,
        source=source.pk,
        quote=QUOTE,
        fidelity="paraphrase",  # the source has no archived text to check a verbatim quote against
        said_on="2025-05-19",
    )
    with Held(
        lambda: save_claim(claim=new_claim(speaker=speaker, source=source, quote=QUOTE, slug="theirs"))
    ):
        saving = InThread(lambda: form.submit().follow())
        assert wait_until(someone_waits_for_a_lock)

    page = saving.wait().text
    theirs = Claim.objects.get(slug="theirs")
    assert "Nothing was saved." in page
    assert f'<a href="{admin_change_url(theirs)}">' in page
    assert Claim.objects.count() == 1


@pytest.mark.django_db
def test_a_new_claim_much_like_others_is_saved_only_once_the_editor_confirms(editor_app):
    speaker = make_speaker(name="Volodymyr Zelensky")
    theirs = make_rated_claim(text="Ukraine will join the European Union by 2030.")
    mine = make_claim(speaker=speaker, text="Ukraine will join the European Union in 2030.")
    make_claim(text="Bread prices rose by a tenth in a year.")

    response = add_form(
        editor_app,
        text="Ukraine will join the European Union by the year 2030.",
        speaker=speaker.pk,
        source=make_source().pk,
        said_on="2025-05-19",
    ).submit()

    assert response.status_code == 200
    panel = response.text[response.text.index('id="similar-claims"') :]
    panel = panel[: panel.index("</fieldset>")]
    links = re.findall(r'<a href="/admin/claims/claim/(\d+)/change/">', panel)
    # The same speaker's claim first, though the other is as similar; the unrelated claim not at all.
    assert links == [str(mine.pk), str(theirs.pk)]
    assert "(same speaker)" in panel and theirs.status.label in panel and "not rated" in panel
    assert 'name="different_claim"' in panel and "then tick “This is a different claim”" in panel
    assert Claim.objects.count() == 3

    form = response.forms["claim_form"]
    form["different_claim"] = True
    saved = form.submit()

    assert saved.status_code == 302
    assert Claim.objects.filter(text="Ukraine will join the European Union by the year 2030.").exists()


@pytest.mark.django_db
def test_an_unlike_claim_is_saved_without_a_confirmation(editor_app):
    make_claim(text="Ukraine will join the European Union by 2030.")
    response = add_form(
        editor_app,
        text="Bread prices rose by a tenth in a year.",
        speaker=make_speaker().pk,
        source=make_source().pk,
        said_on="2025-05-19",
    ).submit()
    assert response.status_code == 302
    assert Claim.objects.count() == 2


@pytest.mark.django_db
def test_a_claims_page_lists_the_claims_like_it_and_not_itself(editor_app):
    claim = make_claim(text="Inflation fell to two per cent in March.", quote="Inflation is down to 2%.")
    like = make_claim(text="Inflation fell to two per cent in April.")
    by_quote = make_claim(text="Prices are steady.", quote="Inflation is down to 2% now.")

    page = editor_app.get(admin_change_url(claim)).text
    panel = page[
        page.index('id="similar-claims"') : page.index("</fieldset>", page.index('id="similar-claims"'))
    ]
    links = re.findall(r'<a href="/admin/claims/claim/(\d+)/change/">', panel)

    assert sorted(links) == sorted([str(like.pk), str(by_quote.pk)])
    # Editing a saved claim asks for no confirmation.
    assert 'name="different_claim"' not in page


# The live lookup (similar.js) ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_similar_claims_lookup_answers_json_the_same_speaker_first_in_one_query(
    editor_app, django_assert_num_queries
):
    speaker = make_speaker()
    other = make_rated_claim(text="The minimum wage will rise to twelve pounds next year.")
    own = make_claim(speaker=speaker, text="The minimum wage will rise to twelve pounds next April.")
    url = reverse("admin:claims_claim_similar")
    params = {"text": "The minimum wage will rise to twelve pounds", "speaker": str(speaker.pk), "quote": ""}

    editor_app.get(url, params)  # the session and user are read once per request: count the second
    with django_assert_num_queries(5):  # session, user, permissions (user + group), the similar claims
        body = editor_app.get(url, params).json

    assert [claim["url"] for claim in body["claims"]] == [admin_change_url(own), admin_change_url(other)]
    assert body["claims"][0]["same_speaker"] is True and body["claims"][1]["same_speaker"] is False
    assert body["claims"][1]["status"] == other.status.label and body["claims"][0]["status"] == "not rated"
    # The claim being edited is left out; junk ids are ignored, not a 500.
    again = editor_app.get(url, {**params, "claim": str(own.pk), "speaker": "abc"}).json
    assert [claim["url"] for claim in again["claims"]] == [admin_change_url(other)]
    assert editor_app.get(url, {"text": "", "quote": ""}).json == {"claims": []}


@pytest.mark.django_db
def test_the_similar_claims_lookup_is_for_those_who_may_view_claims(client, statuses):
    url = reverse("admin:claims_claim_similar")
    assert client.get(url, {"text": "anything"}).status_code == 302  # to the login page

    staff = make_user(is_staff=True)
    client.force_login(staff)
    assert client.get(url, {"text": "anything"}).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_claim"))
    assert client.get(url, {"text": "anything"}).status_code == 200


# The live panel in a real browser ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
)
def test_the_similar_claims_panel_fills_in_as_the_editor_types(live_server):
    call_command("loaddata", "statuses", verbosity=0)
    like = make_rated_claim(text="Ukraine will join the European Union by 2030 <at the latest>.")
    make_claim(text="Bread prices rose by a tenth in a year.")
    status = like.status.label  # read now: the database cannot be used while Playwright's loop runs
    with editor_page(live_server) as page:
        page.goto(live_server.url + reverse("admin:claims_claim_add"))
        panel = page.locator("#similar-claims")
        expect(panel.locator(".similar-claims-none")).to_be_visible()

        page.locator("#id_text").press_sequentially("Ukraine will join the European Union by 2030")

        link = panel.locator(".similar-claims-list a")
        expect(link).to_have_count(1)
        # The claim's text as text: its angle brackets shown, not read as HTML.
        expect(link).to_have_text(str(like))
        assert link.get_attribute("href") == admin_change_url(like)
        expect(panel).to_contain_text(status)


# The migration --------------------------------------------------------------------------------------------


def latest_claims_migration(executor: MigrationExecutor) -> list[tuple[str, str]]:
    """The claims app's leaf migration, as a migrate() target."""
    return executor.loader.graph.leaf_nodes("claims")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_names_existing_duplicates_instead_of_failing_on_the_constraint(statuses):
    first = make_claim(quote=QUOTE, slug="said-first")
    executor = MigrationExecutor(connection)
    executor.migrate([("claims", "0012_api_throttle")])
    try:
        # Before the constraint, nothing stopped a second claim quoting the same words (a double space
        # apart).
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO claims_claim (created_at, updated_at, slug, text, quote, kind, said_on,
                                          speaker_name, speaker_id, source_id)
                VALUES (now(), now(), 'said-again', 'Again.', %s, 'fact', '2025-05-19', '', %s, %s)
                """,
                [QUOTE.replace("We will", "We  will"), first.speaker_id, first.source_id],
            )
        executor = MigrationExecutor(connection)
        # Forward to the latest migration (the one asked of the loader, not a name that the numbering
        # may change): the duplicates check on the way refuses, naming both claims.
        with pytest.raises(RuntimeError, match=r"said-first, said-again|said-again, said-first"):
            executor.migrate(latest_claims_migration(executor))

        # Once an editor corrects one, the migration goes through and the constraint holds.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE claims_claim SET quote = 'Other words.' WHERE slug = 'said-again'")
    finally:
        # Always back to the latest migration: a database left part-way breaks every later test module.
        executor = MigrationExecutor(connection)
        executor.migrate(latest_claims_migration(executor))
    assert Claim.objects.get(slug="said-again").quote_normalised == "Other words."
    with pytest.raises(IntegrityError, match="claims_claim_quote_uniq"), transaction.atomic():
        Claim.objects.filter(slug="said-again").update(quote=QUOTE)
