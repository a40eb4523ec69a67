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
from django.utils import timezone

from claims.models import Claim, Evidence, Fidelity, Source, SourceSnapshot, Status, Verdict, slug_for
from claims.services import (
    FUTURE_LEEWAY,
    EvidenceItem,
    check_quote,
    kind_errors,
    said_on_errors,
    verdict_errors,
)

# The numbers of the (source_N, note_N) field pairs the new-verdict row offers (the admin has no nested
# inlines, so a verdict's evidence is a fixed number of pairs on its form).
EVIDENCE_PAIR_NUMBERS = (1, 2, 3)


class ClaimForm(forms.ModelForm):
    """The claim's own fields, with the database's rules on dates and kinds explained to the editor.

    claims.services.save_claim saves it (ClaimAdmin.save_model), never its status.
    """

    class Meta:
        model = Claim
        fields = ["text", "slug", "speaker", "source", "quote", "fidelity", "kind", "said_on", "due_on"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The admin's script fills the slug in as the text is typed; without it, a slug left empty is made
        # from the text by the same rule (clean()).
        self.fields["slug"].required = False
        self.fields["slug"].help_text += " Filled in from the text as you type; left empty, made from it."
        self.fields["fidelity"].choices = [("", "— (no quote, or verbatim)"), *Fidelity.choices]

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
        self._check_quote(cleaned)
        return cleaned

    def _check_quote(self, cleaned: dict[str, Any]) -> None:
        """A verbatim quote found in the source's latest archived text, or an error on the quote showing
        the closest passage (claims.services.check_quote; save_claim checks again). One query, for a
        verbatim quote only, and none when the quote, its fidelity and source are as saved and verified."""
        if cleaned.get("source") is None or "quote" in self.errors or "fidelity" in self.errors:
            return
        quote, fidelity, source = cleaned.get("quote", ""), cleaned.get("fidelity", ""), cleaned["source"]
        instance = self.instance
        if (
            instance.pk is not None
            and instance.quote_verified
            and (quote, fidelity or Fidelity.VERBATIM, source.pk)
            == (self.initial.get("quote"), self.initial.get("fidelity"), self.initial.get("source"))
        ):
            return
        speaker = cleaned.get("speaker")
        check = check_quote(
            quote=quote, fidelity=fidelity, source=source, speaker_name=speaker.name if speaker else ""
        )
        for field, messages in check.errors.items():
            self.add_error(field, messages)


class NewSnapshotForm(forms.ModelForm):
    """The blank row on a source's page to add a capture of its text; claims.services.archive_source_text
    saves it. The capture time left empty is now (the database's clock)."""

    class Meta:
        model = SourceSnapshot
        fields = ["text", "captured_at"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["captured_at"].required = False
        self.fields["captured_at"].help_text = "When the text was captured (archived). Left empty: now."
        self.fields["text"].help_text = (
            "The document's text exactly as received. A new capture never replaces an earlier one: both are "
            "kept, and quotes are checked against the latest."
        )
        self.fields["text"].strip = False

    def clean(self) -> dict[str, Any]:
        """archive_source_text's own checks, before saving. Runs no query."""
        cleaned = super().clean()
        captured_at = cleaned.get("captured_at")
        if captured_at is not None and "captured_at" not in self.errors:
            try:
                SourceSnapshot(captured_at=captured_at).clean()
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)
            else:
                if captured_at > timezone.now() + FUTURE_LEEWAY:
                    self.add_error("captured_at", "A text cannot have been captured in the future.")
        return cleaned

    def _post_clean(self) -> None:
        # The instance is never saved by this form (archive_source_text does), so Django's model
        # validation, which would ask for the sha256 and the source, is not run here.
        pass


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
        queryset=Source.objects.all(),
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
        fields = ["status", "summary", "explanation"]

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
