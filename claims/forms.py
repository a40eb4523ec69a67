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

from claims.models import (
    Claim,
    Evidence,
    OldClaimSlug,
    OldSpeakerSlug,
    Source,
    Speaker,
    Status,
    Verdict,
    slug_for,
)
from claims.services import (
    CORRECTED_FIELDS,
    EvidenceItem,
    correction_needed_message,
    kind_errors,
    rating_correction_errors,
    said_on_errors,
    verdict_errors,
)

CORRECTION_NOTE_HELP = (
    "Required when changing the text, quote, speaker, source, date said or kind of this published claim: "
    "say what was corrected and why. It is public: shown on the claim's page, on /corrections/, in its feed "
    "and in the API."
)
RATING_REASON_HELP = (
    "Required when this verdict changes the fact's published rating: a rating is final, so a change is a "
    "correction. Public, with the verdict."
)


def old_slug_errors(model: type, slug: str, owner_id: int | None) -> list[str]:
    """Why `slug` cannot be taken: it is another claim's (or speaker's) old address. One EXISTS query."""
    old = (
        OldClaimSlug.objects.filter(slug=slug) if model is Claim else OldSpeakerSlug.objects.filter(slug=slug)
    )
    owner = "claim" if model is Claim else "speaker"
    if owner_id is not None:
        old = old.exclude(**{f"{owner}_id": owner_id})
    if not old.exists():
        return []
    return [f"“{slug}” is the old address of another {owner}, which it still leads to: choose another slug."]


# The numbers of the (source_N, note_N) field pairs the new-verdict row offers (the admin has no nested
# inlines, so a verdict's evidence is a fixed number of pairs on its form).
EVIDENCE_PAIR_NUMBERS = (1, 2, 3)


class ClaimForm(forms.ModelForm):
    """The claim's own fields, with the database's rules on dates and kinds explained to the editor.

    claims.services.save_claim saves it (ClaimAdmin.save_model), never its status.
    """

    class Meta:
        model = Claim
        fields = ["text", "slug", "speaker", "source", "quote", "kind", "said_on", "due_on"]

    correction_note = forms.CharField(
        required=False,
        label="Correction note",
        help_text=CORRECTION_NOTE_HELP,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The admin's script fills the slug in as the text is typed; without it, a slug left empty is made
        # from the text by the same rule (clean()).
        self.fields["slug"].required = False
        self.fields["slug"].help_text += " Filled in from the text as you type; left empty, made from it."
        if not self.instance.is_published:
            # An unpublished claim is edited freely: nothing public is corrected.
            self.fields.pop("correction_note", None)

    def clean(self) -> dict[str, Any]:
        """Costs one query, only when the kind moves the claim to the other scale."""
        cleaned = super().clean()
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
        if cleaned.get("slug") and "slug" in self.changed_data:
            for message in old_slug_errors(Claim, cleaned["slug"], self.instance.pk):
                self.add_error("slug", message)
        corrected = [field for field in CORRECTED_FIELDS if field in self.changed_data]
        note = cleaned.get("correction_note", "").strip()
        if "correction_note" in self.fields and corrected and not note:
            # save_claim checks again against the locked row.
            self.add_error("correction_note", correction_needed_message(corrected))
        elif note and not corrected:
            # A note with nothing to correct would be dropped: say so rather than lose it silently.
            self.add_error(
                "correction_note",
                "Nothing a correction covers has changed (text, quote, speaker, source, date said or kind): "
                "change it, or leave the note empty.",
            )
        return cleaned


class SpeakerForm(forms.ModelForm):
    """A speaker's fields; a slug that is another speaker's old address is refused with that reason."""

    class Meta:
        model = Speaker
        # The admin adds the others (SpeakerAdmin.fields), with its own URL field rules.
        fields = ["slug"]

    def clean_slug(self) -> str:
        """One EXISTS query, only when the slug changed."""
        slug = self.cleaned_data["slug"]
        if "slug" in self.changed_data:
            for message in old_slug_errors(Speaker, slug, self.instance.pk):
                raise ValidationError(message)
        return slug


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
        "from the verdicts list.",
    )
    source_1, note_1 = _evidence_source(), _evidence_note()
    source_2, note_2 = _evidence_source(), _evidence_note()
    source_3, note_3 = _evidence_source(), _evidence_note()

    class Meta:
        model = Verdict
        fields = ["status", "summary", "explanation", "correction_note"]
        help_texts = {"correction_note": RATING_REASON_HELP}
        widgets = {"correction_note": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def __init__(self, *args: Any, claim: Claim, status_options: StatusOptions | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The parent form's instance: on a POST it already holds the submitted kind when this form is cleaned.
        self.claim = claim
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
        if cleaned.get("publish"):
            # The reason is checked at publication (a draft may be published later, by someone else).
            errors.update(
                rating_correction_errors(
                    claim=self.claim,
                    status=cleaned.get("status"),
                    correction_note=cleaned.get("correction_note", ""),
                )
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
    """Gives each form the claim it rates and the status options they share."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.status_options = StatusOptions(self.instance)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {
            **super().get_form_kwargs(index),
            "claim": self.instance,
            "status_options": self.status_options,
        }


class DraftVerdictForm(forms.ModelForm):
    """A draft's status, summary, explanation and (facts) reason for changing the rating; the status select
    holds the claim's scale only."""

    status = forms.ModelChoiceField(queryset=Status.objects.all())

    class Meta:
        model = Verdict
        fields = ["status", "summary", "explanation", "correction_note"]
        help_texts = {"correction_note": RATING_REASON_HELP + " Checked when the draft is published."}

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
