"""The editors' forms: a claim's own fields, the new-verdict row on its page, and a draft verdict.

The admin (claims/admin.py) shows them; none of them saves a verdict itself: claims.services does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from claims.models import Claim, Evidence, Source, Status, Verdict, slug_for
from claims.services import EvidenceItem, duplicate_errors, kind_errors, said_on_errors, verdict_errors

# The numbers of the (source_N, note_N) field pairs the new-verdict row offers (the admin has no nested
# inlines, so a verdict's evidence is a fixed number of pairs on its form).
EVIDENCE_PAIR_NUMBERS = (1, 2, 3)

# How many similar claims the claim's page lists, and how similar one must be (pg_trgm's similarity, 0 to 1)
# for a new claim to be saved only once the editor ticks "This is a different claim". Claims of the same
# story share words, not most of their trigrams: 0.5 is a rewording of the same sentence.
SIMILAR_CLAIMS_SHOWN = 5
SIMILAR_CLAIM_TO_CONFIRM = 0.5


def similar_claims(
    *, text: str, quote: str = "", speaker_id: int | None = None, exclude_pk: int | None = None
) -> list[Claim]:
    """The claims most like this text and quote, the same speaker's first (ClaimQuerySet.similar_to), at
    most SIMILAR_CLAIMS_SHOWN. One query.
    """
    return list(
        Claim.objects.similar_to(text=text, quote=quote, speaker_id=speaker_id, exclude_pk=exclude_pk)[
            :SIMILAR_CLAIMS_SHOWN
        ]
    )


class ClaimForm(forms.ModelForm):
    """The claim's own fields, with the database's rules on dates and kinds explained to the editor.

    claims.services.save_claim saves it (ClaimAdmin.save_model), never its status.

    A quote the same speaker already has from the same source is refused with a link to that claim; a new
    claim much like an existing one (SIMILAR_CLAIM_TO_CONFIRM) is saved once the editor, shown the similar
    claims (`similar`), ticks `different_claim`.
    """

    different_claim = forms.BooleanField(
        required=False,
        label="This is a different claim",
        help_text="The claims listed above are like this one. Tick this once you have checked that none of "
        "them is the claim you are adding.",
    )

    class Meta:
        model = Claim
        fields = ["text", "slug", "speaker", "source", "quote", "kind", "said_on", "due_on"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The admin's script fills the slug in as the text is typed; without it, a slug left empty is made
        # from the text by the same rule (clean()).
        self.fields["slug"].required = False
        self.fields["slug"].help_text += " Filled in from the text as you type; left empty, made from it."
        # The claims most like this one (similar_claims), for the page to list: found when the form is
        # cleaned, or by the admin for a claim's page as saved. None: not looked for.
        self.similar: list[Claim] | None = None
        self.needs_confirmation = False

    def clean(self) -> dict[str, Any]:
        """Costs one query for the similar claims, one for an exact duplicate when there is a quote, and
        one when the kind moves the claim to the other scale."""
        cleaned = super().clean()
        self._check_duplicates(cleaned)
        if not cleaned.get("slug") and "slug" not in self.errors and cleaned.get("text"):
            cleaned["slug"] = slug_for(cleaned["text"], Claim._meta.get_field("slug").max_length)
            if not cleaned["slug"]:
                self.add_error(
                    "slug", "Give the claim a slug: its text has no letters or digits to make one from."
                )
        # A day in the future is the services' rule (it moves with the clock); the other date rules are the
        # model's constraints, checked with their own words after this.
        if cleaned.get("said_on"):
            for field, messages in said_on_errors(said_on=cleaned["said_on"]).items():
                self.add_error(field, messages)
        if cleaned.get("kind"):
            # The instance is still the claim as saved; save_claim checks again under the row lock.
            for field, messages in kind_errors(claim=self.instance, kind=cleaned["kind"]).items():
                self.add_error(field, messages)
        return cleaned

    def _check_duplicates(self, cleaned: dict[str, Any]) -> None:
        """The exact duplicate (an error on the quote, with a link; Django's own check of the unique
        constraint then stands aside, as the quote has an error) and the similar claims."""
        speaker, source, quote = cleaned.get("speaker"), cleaned.get("source"), cleaned.get("quote", "")
        if speaker is not None and source is not None and quote:
            submitted = Claim(pk=self.instance.pk, speaker=speaker, source=source, quote=quote)
            for field, messages in duplicate_errors(claim=submitted).items():
                self.add_error(field, messages)
        if not cleaned.get("text"):
            return
        self.similar = similar_claims(
            text=cleaned["text"],
            quote=quote,
            speaker_id=speaker.pk if speaker is not None else None,
            exclude_pk=self.instance.pk,
        )
        self.needs_confirmation = self.instance.pk is None and any(
            claim.similarity >= SIMILAR_CLAIM_TO_CONFIRM for claim in self.similar
        )
        if self.needs_confirmation and not cleaned.get("different_claim"):
            self.add_error(
                "different_claim",
                "Claims like this one exist (listed under “Similar claims”). Check that none of them is the "
                "claim you are adding, then tick “This is a different claim” to save it.",
            )


class StatusOptions:
    """The status select's options, read from the database once however many forms show them.

    The new-verdict row and its hidden template both render the select: one query for the two.
    """

    def __init__(self, claim: Claim):
        statuses = Status.objects.all()
        # A claim not saved yet has no kind to go by: every status is offered, and the form checks the pair.
        self.statuses = statuses.filter(scale=claim.expected_scale) if claim.pk is not None else statuses
        self._options: list[tuple[str | int, str]] | None = None

    def __iter__(self) -> Iterator[tuple[str | int, str]]:
        if self._options is None:
            self._options = [("", "---------"), *((status.pk, str(status)) for status in self.statuses)]
        return iter(self._options)


class AutocompleteSelect(widgets.AutocompleteSelect):
    """Django's autocomplete select, except that a value no row can have (a crafted "abc" for an id) is
    shown as nothing chosen, next to the field's own error, instead of a 500: Django's widget looks the
    submitted value up as an id when it renders the form again.
    """

    def optgroups(self, name: str, value: list[str], attr: dict | None = None) -> list:
        try:
            return super().optgroups(name, value, attr)
        except (ValueError, TypeError):
            return super().optgroups(name, [], attr)


def _evidence_source() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Source.objects.defer("archived_text"),
        required=False,
        label="Source",
        widget=AutocompleteSelect(Evidence._meta.get_field("source"), admin.site),
    )


def _evidence_note() -> forms.CharField:
    return forms.CharField(required=False, label="Note", widget=forms.Textarea(attrs={"rows": 2, "cols": 50}))


class NewVerdictForm(forms.ModelForm):
    """The blank row on a claim's page. Its data goes to record_verdict; the form itself never saves.

    The status select offers the statuses of the claim's scale (all of them on a claim not saved yet) but
    accepts any status, so that one of the other scale is refused with a message that says why.
    """

    status = forms.ModelChoiceField(queryset=Status.objects.all())
    publish = forms.BooleanField(
        required=False,
        initial=True,
        label="Publish now",
        help_text="Unticked, the verdict is saved as a draft: nothing public changes until it is published "
        "from its own page.",
    )
    source_1, note_1 = _evidence_source(), _evidence_note()
    source_2, note_2 = _evidence_source(), _evidence_note()
    source_3, note_3 = _evidence_source(), _evidence_note()

    class Meta:
        model = Verdict
        fields = ["status", "summary", "explanation"]

    def __init__(
        self,
        *args: Any,
        claim: Claim,
        status_options: StatusOptions | None = None,
        offer_publish: bool = True,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        # The parent form's instance: on a POST it already holds the submitted kind when this form is cleaned.
        self.claim = claim
        if not offer_publish:
            # Review required, or a user who may not publish (claims.admin.NewVerdictInline.offers_publish):
            # the verdict is a draft, whatever a crafted request sends.
            del self.fields["publish"]
        self.fields["status"].widget.choices = (
            StatusOptions(claim) if status_options is None else status_options
        )

    def clean(self) -> dict[str, Any]:
        """record_verdict's own checks (claims.services.verdict_errors), on the claim as submitted.

        The service makes them again under the claim's row lock; only a true race can fail there.
        """
        cleaned = super().clean()
        for n in EVIDENCE_PAIR_NUMBERS:
            if cleaned.get(f"source_{n}") is None and cleaned.get(f"note_{n}"):
                self.add_error(f"source_{n}", "Choose the source this note is about.")
        errors = verdict_errors(
            claim=self.claim,
            status=cleaned.get("status"),
            summary=cleaned.get("summary", ""),
            evidence=self.evidence(),
            publish=cleaned.get("publish", False),
        )
        for field, messages in errors.items():
            if field not in self.fields:
                self.add_error(None, messages)
            elif field not in self.errors:  # a required field left blank says so already
                self.add_error(field, messages)
        return cleaned

    def evidence(self) -> list[EvidenceItem]:
        """The filled-in (source, note) pairs, in order. No query: the sources are the form's."""
        return [
            EvidenceItem(source=self.cleaned_data[f"source_{n}"], note=self.cleaned_data.get(f"note_{n}", ""))
            for n in EVIDENCE_PAIR_NUMBERS
            if self.cleaned_data.get(f"source_{n}") is not None
        ]


class NewVerdictFormSet(BaseInlineFormSet):
    """Gives each form the claim it rates, the status options they share, and whether "Publish now" is
    offered (ClaimAdmin.get_formset_kwargs)."""

    def __init__(self, *args: Any, offer_publish: bool = False, **kwargs: Any):
        self.offer_publish = offer_publish
        super().__init__(*args, **kwargs)
        self.status_options = StatusOptions(self.instance)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {
            **super().get_form_kwargs(index),
            "claim": self.instance,
            "status_options": self.status_options,
            "offer_publish": self.offer_publish,
        }


class DraftVerdictForm(forms.ModelForm):
    """A draft's status, summary and explanation; the status select holds the claim's scale only."""

    status = forms.ModelChoiceField(queryset=Status.objects.all())

    class Meta:
        model = Verdict
        fields = ["status", "summary", "explanation"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["status"].queryset = Status.objects.filter(scale=self.instance.scale)


class EvidenceForm(forms.ModelForm):
    """One citation on its own page. Its verdict is read-only there, so Django would not check the
    (verdict, source) pair: this form does, with the constraint's own words."""

    class Meta:
        model = Evidence
        fields = ["source", "note", "position"]

    def clean(self) -> dict[str, Any]:
        """Costs one query (an EXISTS) when a source is chosen."""
        cleaned = super().clean()
        if cleaned.get("source") is not None:
            cited = Evidence(
                pk=self.instance.pk, verdict_id=self.instance.verdict_id, source=cleaned["source"]
            )
            try:
                cited.validate_constraints(exclude={"note", "position"})
            except ValidationError as error:
                self.add_error("source", error.messages)
        return cleaned
