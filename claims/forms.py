"""The editors' forms: a claim's own fields, the new-verdict row on its page, and a draft verdict.

The admin (claims/admin.py) shows them; none of them saves a verdict itself: claims.services does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from claims.models import (
    Claim,
    Evidence,
    Fidelity,
    OldClaimSlug,
    OldSpeakerSlug,
    Source,
    SourceSnapshot,
    Speaker,
    Status,
    Verdict,
    slug_for,
)
from claims.services import (
    CORRECTED_FIELDS,
    FUTURE_LEEWAY,
    EvidenceItem,
    StatusSeen,
    check_quote,
    correction_needed_message,
    duplicate_errors,
    kind_errors,
    lock_for_edit,
    rating_correction_errors,
    said_on_errors,
    stale_errors,
    status_seen_errors,
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


class OpenedWithField(forms.CharField):
    """A hidden field holding what the page showed when it was opened (a version, a status's time).

    Never a change of its own: a new-verdict row left blank stays blank, and changed_data lists only what
    the editor changed.
    """

    widget = forms.HiddenInput

    def has_changed(self, initial: Any, data: Any) -> bool:
        return False


def _posted(widget: forms.Widget, name: str, value: Any) -> dict[str, str]:
    """What a browser posts for `value` shown in `widget` under `name`: value_from_datadict's inverse,
    for the widgets of these forms (text, selects, dates, the admin's split date and time). No query."""
    if isinstance(widget, widgets.RelatedFieldWidgetWrapper):
        widget = widget.widget
    if isinstance(widget, forms.MultiWidget):
        parts = value if isinstance(value, list | tuple) else widget.decompress(value)
        posted: dict[str, str] = {}
        for suffix, part_widget, part in zip(widget.widgets_names, widget.widgets, parts, strict=True):
            posted.update(_posted(part_widget, name + suffix, part))
        return posted
    shown = widget.format_value(value)
    if isinstance(shown, list):  # a select's chosen values
        shown = shown[0] if shown else ""
    return {name: "" if shown is None else str(shown)}


class VersionedForm(forms.ModelForm):
    """A form whose save is refused when someone else saved the row since the page was opened.

    The page carries the row's version (`opened_version`) and, next to each field, the value it was
    opened with (Django's hidden initial inputs). So `changed_data` lists exactly what this editor
    changed, which is all the admin writes; and on a POST that changes something, clean() locks the row
    (SELECT … FOR UPDATE, inside the admin's transaction, held until the save) and compares versions.

    On a mismatch the form is shown again with a message naming who changed which fields, and their
    current values; the editor's own changes are kept. The page then carries the current version, and
    the current values in the fields the editor had not touched: saving again writes only what the editor
    changed, over what they have now seen, and never puts back a value they did not type.
    """

    opened_version = OpenedWithField(required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["opened_version"].initial = self.instance.version
        for name in self.versioned_fields:
            self.fields[name].show_hidden_initial = True
        self.current: Any = None  # the row as locked by clean(), once it is

    @property
    def versioned_fields(self) -> list[str]:
        """The model's fields on this form (the ones a save writes): not a form's own fields, such as a
        confirmation box or a correction note."""
        columns = {field.name for field in self._meta.model._meta.concrete_fields}
        return [name for name in self.fields if name in columns]

    @property
    def edited_fields(self) -> list[str]:
        """The fields this editor changed from the values the page was opened with: all a save writes."""
        return [name for name in self.changed_data if name in self.versioned_fields]

    @property
    def expected_version(self) -> int | None:
        """The version the page was opened at; None when not posted (nothing is then checked)."""
        value = getattr(self, "cleaned_data", {}).get("opened_version") or ""
        return int(value) if value.isdigit() else None

    def clean(self) -> dict[str, Any]:
        """Costs one query (the row's lock) when an existing row is changed; more only on a refusal."""
        cleaned = super().clean()
        if self.instance.pk is None or not self.edited_fields:
            return cleaned
        self.current = lock_for_edit(type(self.instance), self.instance.pk)
        changed = self._changed_since(self.current)
        errors = stale_errors(current=self.current, expected_version=self.expected_version, changed=changed)
        if errors:
            self.add_error(None, errors[None])
            self._show_current(self.current, changed)
        return cleaned

    def _current_value(self, row: Any, name: str) -> Any:
        """A field's value in `row` as a form's initial value: by id for a related object, and without
        microseconds where the widget shows none (as Django's own initial values)."""
        value = row._meta.get_field(name).value_from_object(row)
        if isinstance(value, datetime) and not self.fields[name].widget.supports_microseconds:
            value = value.replace(microsecond=0)
        return value

    def _changed_since(self, row: Any) -> list[str]:
        """The fields whose value in `row` differs from the one the page was opened with. No query."""
        changed = []
        for name in self.versioned_fields:
            bound = self[name]
            opened = self._widget_data_value(bound.field.hidden_widget(), bound.html_initial_name)
            if bound.field.has_changed(self._current_value(row, name), opened):
                changed.append(name)
        return changed

    def _show_current(self, row: Any, changed: list[str]) -> None:
        """Put the current version, and the current value of each field changed since, on the page shown
        again: as each field's opened value, and as its value where the editor had not changed it."""
        self.data = self.data.copy()
        mine = set(self.edited_fields)
        for name in changed:
            bound = self[name]
            value = bound.field.prepare_value(self._current_value(row, name))
            posted = _posted(bound.field.hidden_widget(), bound.html_initial_name, value)
            if name not in mine:
                posted.update(_posted(bound.field.widget, bound.html_name, value))
            for key, text in posted.items():
                self.data[key] = text
        self.data[self["opened_version"].html_name] = str(row.version)


class ClaimForm(VersionedForm):
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
        fields = ["text", "slug", "speaker", "source", "quote", "fidelity", "kind", "said_on", "due_on"]

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
        # The claims most like this one (similar_claims), for the page to list: found when the form is
        # cleaned, or by the admin for a claim's page as saved. None: not looked for.
        self.similar: list[Claim] | None = None
        self.needs_confirmation = False
        if not self.instance.is_published:
            # An unpublished claim is edited freely: nothing public is corrected.
            self.fields.pop("correction_note", None)
        self.fields["fidelity"].choices = [("", "— (no quote, or verbatim)"), *Fidelity.choices]

    def clean(self) -> dict[str, Any]:
        """Costs one query for the similar claims, one for an exact duplicate when there is a quote, and
        one when the kind moves the claim to the other scale."""
        cleaned = super().clean()
        # "—" means verbatim for a quote and nothing without one (the model's constraint wants it said).
        if "quote" in cleaned and "fidelity" in cleaned:
            if not cleaned["quote"]:
                cleaned["fidelity"] = ""
            elif not cleaned["fidelity"]:
                cleaned["fidelity"] = Fidelity.VERBATIM
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
        # Also a slug made from the text (the field left empty): whatever slug the claim would get.
        if cleaned.get("slug") and cleaned["slug"] != self.instance.slug:
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
        self._check_quote(cleaned)
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

    def _check_quote(self, cleaned: dict[str, Any]) -> None:
        """A verbatim quote found in the source's latest archived text, or an error on the quote showing
        the closest passage (claims.services.check_quote; save_claim checks again). One query, for a
        verbatim quote only, and none when the quote, its fidelity and source are as saved."""
        if cleaned.get("source") is None or "quote" in self.errors or "fidelity" in self.errors:
            return
        quote, fidelity, source = cleaned.get("quote", ""), cleaned.get("fidelity", ""), cleaned["source"]
        if self.instance.pk is not None and not {"quote", "fidelity", "source"} & set(self.changed_data):
            # Not the editor's change: the quote keeps the check it had (an edit of the due date is no
            # occasion to refuse a quote an earlier capture could not confirm).
            return
        speaker = cleaned.get("speaker")
        check = check_quote(
            quote=quote, fidelity=fidelity, source=source, speaker_name=speaker.name if speaker else ""
        )
        for field, messages in check.errors.items():
            self.add_error(field, messages)


class SpeakerForm(VersionedForm):
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
        """No model validation: the instance is never saved by this form (archive_source_text saves the
        capture, with its sha256 and source, which this validation would ask for)."""


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
        "from its own page.",
    )
    source_1, note_1 = _evidence_source(), _evidence_note()
    source_2, note_2 = _evidence_source(), _evidence_note()
    source_3, note_3 = _evidence_source(), _evidence_note()
    # The claim's status as the page showed it (its publication time; empty: not rated): a verdict is
    # refused when another was published since, which this editor has not seen (status_seen_errors).
    status_seen = OpenedWithField(required=False)

    class Meta:
        model = Verdict
        fields = ["status", "summary", "explanation", "correction_note"]
        help_texts = {"correction_note": RATING_REASON_HELP}
        widgets = {"correction_note": forms.Textarea(attrs={"rows": 2, "cols": 60})}

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
        changed_at = claim.status_changed_at
        self.fields["status_seen"].initial = changed_at.isoformat() if changed_at is not None else "none"

    def seen(self) -> StatusSeen | None:
        """The claim's status as the page showed it; None when the page did not say (nothing is checked)."""
        value = self.cleaned_data.get("status_seen") or ""
        if value == "none":
            return StatusSeen(changed_at=None)
        moment = parse_datetime(value) if value else None
        return StatusSeen(changed_at=moment) if moment is not None else None

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
        # Asked for when the verdict is recorded, draft or not (its author knows why); the publication checks
        # again against the claim's status then (a draft may be published later, by someone else).
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
        self._check_status_seen()
        return cleaned

    def _check_status_seen(self) -> None:
        """Refuse the verdict when another was published on the claim since the page showed its status,
        checked under the claim's row lock (held by the admin's transaction until record_verdict, which
        checks again). The page shown again keeps what the editor typed and carries the newer status, so
        saving again records the verdict over the status the message named. One query (the lock), one
        more on a refusal.
        """
        seen = self.seen()
        if self.claim.pk is None or seen is None:
            return
        current = Claim.objects.select_for_update().only("status_changed_at").get(pk=self.claim.pk)
        errors = status_seen_errors(claim=current, seen=seen)
        if errors:
            self.add_error(None, errors[None])
            self.data = self.data.copy()
            changed_at = current.status_changed_at
            self.data[self["status_seen"].html_name] = changed_at.isoformat() if changed_at else "none"

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


class DraftVerdictForm(VersionedForm):
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
