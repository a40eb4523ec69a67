"""The editors' forms: a claim's own fields, the new-verdict row on its page, and a draft verdict.

The admin (claims/admin.py) shows them; none of them saves a verdict itself: claims.services does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from claims.models import Claim, Evidence, Kind, Source, Status, Verdict, scale_for_kind
from claims.services import EvidenceItem, wrong_scale_message

# The numbers of the (source_N, note_N) field pairs the new-verdict row offers (the admin has no nested
# inlines, so a verdict's evidence is a fixed number of pairs on its form).
EVIDENCE_PAIR_NUMBERS = (1, 2, 3)


class ClaimForm(forms.ModelForm):
    """The claim's own fields, with the database's rules on dates and kinds explained to the editor."""

    class Meta:
        model = Claim
        fields = ["text", "slug", "speaker", "source", "quote", "kind", "said_on", "due_on"]

    def clean(self) -> dict[str, Any]:
        """Costs one query, only when the kind moves the claim to the other scale."""
        cleaned = super().clean()
        kind, said_on, due_on = cleaned.get("kind"), cleaned.get("said_on"), cleaned.get("due_on")
        if due_on is not None and kind == Kind.FACT:
            self.add_error("due_on", "Only promises and predictions have a due date; clear it for a fact.")
        elif due_on is not None and said_on is not None and due_on < said_on:
            self.add_error("due_on", "The due date cannot be before the day the claim was said.")
        claim = self.instance
        if (
            kind
            and claim.pk is not None
            and scale_for_kind(kind) != claim.expected_scale
            and claim.verdicts.exists()
        ):
            self.add_error(
                "kind",
                f"This claim has verdicts on the {Status(scale=claim.expected_scale).get_scale_display()} "
                "scale, so it cannot become a claim of the other scale. Record a new claim instead.",
            )
        return cleaned


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
        fields = ["status", "summary", "explanation"]

    def __init__(
        self,
        *args: Any,
        claim: Claim,
        status_options: StatusOptions | None = None,
        refused: ValidationError | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        # The parent form's instance: on a POST it already holds the submitted kind when this form is cleaned.
        self.claim = claim
        self.refused = refused
        self.fields["status"].widget.choices = (
            StatusOptions(claim) if status_options is None else status_options
        )

    def clean(self) -> dict[str, Any]:
        """The checks record_verdict makes that a form can make; the service checks again when it saves."""
        cleaned = super().clean()
        if self.refused is not None:
            # record_verdict refused this verdict on the first try of this very request (see ClaimAdmin).
            errors = (
                self.refused.message_dict
                if hasattr(self.refused, "error_dict")
                else {None: self.refused.messages}
            )
            for field, field_messages in errors.items():
                self.add_error(field if field in self.fields else None, field_messages)
        status = cleaned.get("status")
        if status is not None and status.scale != scale_for_kind(self.claim.kind):
            self.add_error("status", wrong_scale_message(status, self.claim.kind))
        cited = []
        for n in EVIDENCE_PAIR_NUMBERS:
            source, note = cleaned.get(f"source_{n}"), cleaned.get(f"note_{n}", "")
            if source is None and note:
                self.add_error(f"source_{n}", "Choose the source this note is about.")
            elif source is not None:
                if source in cited:
                    self.add_error(f"source_{n}", "Each source can be cited once per verdict.")
                cited.append(source)
        return cleaned

    def evidence(self) -> list[EvidenceItem]:
        return [
            EvidenceItem(source=self.cleaned_data[f"source_{n}"], note=self.cleaned_data[f"note_{n}"])
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
