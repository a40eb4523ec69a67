"""The editors' interface: the Django admin for every claims model.

A claim's page is where a verdict is recorded: its timeline is read-only, and one blank row saves a new
verdict through claims.services.record_verdict, never through the inline form's own save(). Published
verdicts and status changes are history: nobody edits or deletes them here (database triggers refuse too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import F, QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from claims.forms import (
    EVIDENCE_PAIR_NUMBERS,
    AutocompleteSelect,
    ClaimForm,
    DraftVerdictForm,
    EvidenceForm,
    NewSnapshotForm,
    NewVerdictForm,
    NewVerdictFormSet,
)
from claims.models import (
    Claim,
    Evidence,
    Fidelity,
    Source,
    SourceSnapshot,
    Speaker,
    Status,
    StatusChange,
    Verdict,
)
from claims.services import archive_source_text, publish_verdict, record_verdict, save_claim, save_draft


def status_badge(status: Status | None) -> SafeString | str:
    """A status label on its colour (both escaped), or a dash for no status (a claim not rated before)."""
    if status is None:
        return "-"
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 8px;border-radius:8px;white-space:nowrap">{}</span>',
        status.colour,
        status.label,
    )


def evidence_list_html(evidence_list: list[dict]) -> SafeString | str:
    """The `evidence_list` annotation (VerdictQuerySet.with_evidence) as an escaped HTML list."""
    if not evidence_list:
        return "-"
    items = format_html_join(
        "",
        '<li><a href="{}" rel="noopener noreferrer">{}</a>{}</li>',
        (
            (
                item["source"]["url"],
                item["source"]["title"],
                format_html(": {}", item["note"]) if item["note"] else "",
            )
            for item in evidence_list
        ),
    )
    return format_html('<ul style="margin:0;padding-left:1em">{}</ul>', items)


# PostgreSQL takes UTC offsets up to ±15:59 (Python reads up to ±23:59).
_LARGEST_OFFSET = timedelta(hours=16)


def _is_usable_lookup(key: str, value: str) -> bool:
    """False for a list's query-string lookup value that would fail in the database rather than in Django's
    own checks: a time whose UTC offset PostgreSQL refuses or that falls outside the years 1 to 9999 in UTC,
    or a year past 9999 (or before 1). No query."""
    if key.endswith("__year") or "__year__" in key:
        return value.isdigit() and 1 <= int(value) <= 9999
    try:
        moment = parse_datetime(value)
    except ValueError:
        return True  # not a real time: Django refuses it itself
    if moment is None or moment.utcoffset() is None:
        return True
    if abs(moment.utcoffset()) >= _LARGEST_OFFSET:
        return False
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


class CheckedLookupsChangeList(ChangeList):
    """A change list whose hand-typed lookups (?published_at__gte=...) are checked before the database
    sees them: one it could not take is refused as Django refuses any other bad lookup (the list again,
    with ?e=1), not a 500."""

    def get_filters_params(self, params: dict | None = None) -> dict:
        lookup_params = super().get_filters_params(params)
        for key, values in lookup_params.items():
            for value in values if isinstance(values, list) else [values]:
                if not _is_usable_lookup(key, value):
                    raise IncorrectLookupParameters(f"{key}={value!r} is out of range")
        return lookup_params


class CheckedLookupsMixin:
    """Every admin list here: its lookups are checked (CheckedLookupsChangeList)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CheckedLookupsChangeList


class RefusedSaveMixin:
    """An admin whose saves go through claims.services: a refusal there is a message, never a 500.

    The forms make the services' own checks first, so a service refuses only what changed between the
    form's check and its row lock (another editor's publication, say). Django's changeform_view runs the
    save in one transaction: the refusal rolls all of it back, and the editor is sent back to the page
    with the reason.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except ValidationError as refused:
            reasons = refused.message_dict if hasattr(refused, "error_dict") else {None: refused.messages}
            said = " ".join(
                f"{'' if field in (None, NON_FIELD_ERRORS) else field.replace('_', ' ').capitalize() + ': '}{text}"
                for field, texts in reasons.items()
                for text in texts
            )
            self.message_user(request, f"Nothing was saved. {said}", messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())


class AutocompleteFieldsMixin:
    """An admin (or inline) whose autocomplete_fields use claims.forms.AutocompleteSelect: a crafted value
    that is no id is a form error, not a 500."""

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        admin_options: Any = self
        if db_field.name in admin_options.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = AutocompleteSelect(
                db_field, admin_options.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class SlugMedia:
    """The script that makes a prepopulated slug keep numbers apart ("1.5 million" → 1-5-million), as
    claims.models.slug_for does; for every admin with prepopulated_fields."""

    # urlify.js first (the admin's own, listed again so that Media's merge keeps it before ours): slug.js
    # wraps the URLify function it defines.
    js = ["admin/js/urlify.js", "claims/admin/slug.js"]


# A URL typed without its scheme is read as https:// (Django 6's default; Django 5.2 warns on every form
# that still reads it as http://).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


def author_name(user: Any) -> str:
    if user is None:
        return "-"
    return user.get_full_name() or user.get_username()


class HistoryReadOnlyMixin:
    """An admin (or inline) that shows history and never writes it: no add, change or delete for anyone."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Speakers -------------------------------------------------------------------------------------------------


@admin.register(Speaker)
class SpeakerAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    list_display = ["name", "role", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = URL_FIELDS
    fields = ["name", "slug", "role", "description", "url", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    Media = SlugMedia


# Sources --------------------------------------------------------------------------------------------------


class SnapshotHistoryInline(HistoryReadOnlyMixin, admin.TabularInline):
    """The source's archived texts, latest first: read-only (a snapshot is never edited; the database
    refuses). Each row links to its page, where the text can be read."""

    model = SourceSnapshot
    verbose_name = "archived text"
    verbose_name_plural = "Archived texts (latest first: the latest is the one quotes are checked against)"
    fields = ["captured", "sha256", "length", "created_by_name"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceSnapshot]:
        """The snapshots with their length and author, never their text: one query for any number."""
        return (
            super()
            .get_queryset(request)
            .without_text()
            .annotate(length=Length("text"))
            .select_related("created_by")
            .latest_first()
        )

    @admin.display(description="captured")
    def captured(self, snapshot: SourceSnapshot) -> str:
        return timezone.localtime(snapshot.captured_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="characters")
    def length(self, snapshot: SourceSnapshot) -> int:
        return snapshot.length

    @admin.display(description="by")
    def created_by_name(self, snapshot: SourceSnapshot) -> str:
        return author_name(snapshot.created_by)


class NewSnapshotInline(admin.StackedInline):
    """One blank row to add a capture of the source's text; SourceAdmin.save_formset passes it to
    claims.services.archive_source_text. A new capture never replaces an old one."""

    model = SourceSnapshot
    form = NewSnapshotForm
    verbose_name = "new capture of the text"
    verbose_name_plural = "new capture of the text"
    extra = 1
    max_num = 1
    can_delete = False
    fields = ["text", "captured_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceSnapshot]:
        """No existing snapshots: this inline only ever holds the blank row. Runs no query."""
        return super().get_queryset(request).none()


@admin.register(Source)
class SourceAdmin(CheckedLookupsMixin, RefusedSaveMixin, admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "url"]
    search_fields = ["title", "publisher", "url"]
    formfield_overrides = URL_FIELDS
    fieldsets = [
        (None, {"fields": ["title", "publisher", "authors", "url", "published_on"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SnapshotHistoryInline, NewSnapshotInline]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_inline_instances(self, request: HttpRequest, obj: Source | None = None) -> list:
        # The blank row only for those who may add captures.
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if not isinstance(inline, NewSnapshotInline) or inline.has_add_permission(request, obj)
        ]

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        """The history is never saved; a filled-in new capture goes through archive_source_text."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not SourceSnapshot or not formset.forms:
            return
        for snapshot_form in formset.forms:
            if not isinstance(snapshot_form, NewSnapshotForm) or not snapshot_form.has_changed():
                continue
            # A refusal here (the form checked first) is a message: see RefusedSaveMixin.
            snapshot = archive_source_text(
                source=formset.instance,
                text=snapshot_form.cleaned_data["text"],
                captured_at=snapshot_form.cleaned_data.get("captured_at"),
                by=request.user,
            )
            formset.new_objects.append(snapshot)
            self.message_user(
                request,
                "Archived a new capture of the text; quotes are checked against it from now on, and the "
                "earlier captures are kept.",
                messages.SUCCESS,
            )


@admin.register(SourceSnapshot)
class SourceSnapshotAdmin(CheckedLookupsMixin, HistoryReadOnlyMixin, admin.ModelAdmin):
    """Every archived text, to read: a capture is added on its source's page and never edited here."""

    list_display = ["captured", "source", "sha256", "length"]
    list_select_related = ["source"]
    search_fields = ["source__title", "source__url", "sha256"]
    fields = ["source", "captured_at", "sha256", "length", "created_by_name", "created_at", "text_shown"]
    readonly_fields = fields
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["captured"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceSnapshot]:
        """Snapshots with their source, author and length, never their text (one query for a page of the
        list); a snapshot's own page reads its text with one more query, when it shows it."""
        return (
            super()
            .get_queryset(request)
            .select_related("source", "created_by")
            .annotate(length=Length("text"))
            .defer("text")
        )

    @admin.display(description="captured", ordering="captured_at")
    def captured(self, snapshot: SourceSnapshot) -> str:
        return timezone.localtime(snapshot.captured_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="characters")
    def length(self, snapshot: SourceSnapshot) -> int:
        return snapshot.length

    @admin.display(description="by")
    def created_by_name(self, snapshot: SourceSnapshot) -> str:
        return author_name(snapshot.created_by)

    @admin.display(description="text")
    def text_shown(self, snapshot: SourceSnapshot) -> SafeString:
        return format_html('<pre style="white-space:pre-wrap;max-width:60em">{}</pre>', snapshot.text)


# Statuses -------------------------------------------------------------------------------------------------


@admin.register(Status)
class StatusAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    # Narrow enough for a laptop's screen beside the admin's two sidebars (tests/test_admin_browser.py):
    # the scale by its short name, small inputs for the label and the position.
    list_display = ["badge", "label", "scale_name", "position", "colour", "slug"]
    list_display_links = ["badge"]
    list_editable = ["label", "position", "colour"]
    list_filter = ["scale"]
    ordering = ["scale", "-position", "id"]
    fields = ["scale", "label", "slug", "position", "colour", "description"]
    Media = SlugMedia

    @admin.display(description="badge")
    def badge(self, status: Status) -> SafeString | str:
        return status_badge(status)

    @admin.display(description="scale", ordering="scale")
    def scale_name(self, status: Status) -> str:
        return status.scale

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        kwargs.setdefault(
            "widgets",
            {
                "label": forms.TextInput(attrs={"size": 12}),
                "position": forms.NumberInput(attrs={"min": 0, "style": "width: 4em"}),
            },
        )
        return super().get_changelist_form(request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Status | None = None) -> list[str]:
        # Verdicts and claims hold a status together with its scale (composite foreign keys), and the slug
        # is what API consumers filter by and what the default data refers to: both are fixed once saved.
        return ["scale", "slug"] if obj is not None else []

    def get_prepopulated_fields(self, request: HttpRequest, obj: Status | None = None) -> dict:
        return {} if obj is not None else {"slug": ("label",)}

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        if db_field.name == "colour":
            kwargs["widget"] = forms.TextInput(attrs={"type": "color"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# Claims ---------------------------------------------------------------------------------------------------


class SpeakerFilter(admin.ListFilter):
    """Claims of one speaker, found by typing part of a name.

    The panel lists at most ten matching speakers and the chosen one, never every speaker (there can be
    thousands). Costs no query when unused; one for the chosen speaker and one for the matches when used.
    """

    title = "speaker"
    template = "admin/claims/claim/speaker_filter.html"
    parameter_name = "speaker"  # a speaker's slug
    find_parameter = "find_speaker"
    shown = 10

    def __init__(self, request: HttpRequest, params: dict, model: type, model_admin: admin.ModelAdmin):
        super().__init__(request, params, model, model_admin)
        for name in (self.parameter_name, self.find_parameter):
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        self.slug = self.used_parameters.get(self.parameter_name, "")
        self.find_text = self.used_parameters.get(self.find_parameter, "").strip()
        self.selected = Speaker.objects.filter(slug=self.slug).first() if self.slug else None
        self.matches = (
            list(Speaker.objects.filter(name__icontains=self.find_text).exclude(slug=self.slug)[: self.shown])
            if self.find_text
            else []
        )
        self.kept_parameters: list[tuple[str, str]] = []

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name, self.find_parameter]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        return queryset.filter(speaker__slug=self.slug) if self.slug else queryset

    def choices(self, changelist) -> Iterator[dict[str, Any]]:
        mine = self.expected_parameters()
        self.kept_parameters = [
            (name, value) for name, value in changelist.params.items() if name not in mine
        ]
        yield {
            "selected": not self.slug,
            "query_string": changelist.get_query_string(remove=mine),
            "display": "All",
        }
        if self.slug:
            yield {
                "selected": True,
                "query_string": changelist.get_query_string({self.parameter_name: self.slug}),
                "display": self.selected.name if self.selected else f"No speaker “{self.slug}”",
            }
        for speaker in self.matches:
            yield {
                "selected": False,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: speaker.slug}, remove=[self.find_parameter]
                ),
                "display": f"{speaker.name} ({speaker.role})" if speaker.role else speaker.name,
            }


class VerdictTimelineInline(HistoryReadOnlyMixin, admin.TabularInline):
    """The claim's verdicts, newest first, drafts on top: read-only (published ones are never rewritten)."""

    model = Verdict
    verbose_name = "verdict"
    verbose_name_plural = "Timeline (newest first)"
    fields = ["badge", "summary", "explanation", "evidence_shown", "published", "created_by_name"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        """The claim's verdicts with status, author and evidence: one query for any number of verdicts."""
        return super().get_queryset(request).with_evidence().select_related("created_by").newest_first()

    @admin.display(description="status")
    def badge(self, verdict: Verdict) -> SafeString | str:
        return status_badge(verdict.status)

    @admin.display(description="evidence")
    def evidence_shown(self, verdict: Verdict) -> SafeString | str:
        return evidence_list_html(verdict.evidence_list)

    @admin.display(description="published")
    def published(self, verdict: Verdict) -> str:
        if verdict.published_at is None:
            return "Draft: not public. Open it to edit or publish it."
        return timezone.localtime(verdict.published_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="by")
    def created_by_name(self, verdict: Verdict) -> str:
        return author_name(verdict.created_by)


class NewVerdictInline(admin.StackedInline):
    """One blank row to record a new verdict; ClaimAdmin.save_formset passes it to record_verdict."""

    model = Verdict
    form = NewVerdictForm
    formset = NewVerdictFormSet
    verbose_name = "new verdict"
    verbose_name_plural = "new verdict"
    extra = 1
    max_num = 1
    can_delete = False
    fieldsets = [
        (
            None,
            {
                "fields": ["status", "summary", "explanation", "publish"],
                "description": "Fill this in to record a new verdict: when published it becomes the claim's "
                "status at once. Leave it blank to save only the claim.",
            },
        ),
        (
            "Evidence",
            {
                "fields": [(f"source_{n}", f"note_{n}") for n in EVIDENCE_PAIR_NUMBERS],
                "description": "The sources this verdict relies on, each with a note on what it shows.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        """No existing verdicts: this inline only ever holds the blank row. Runs no query."""
        return super().get_queryset(request).none()


@admin.register(Claim)
class ClaimAdmin(CheckedLookupsMixin, AutocompleteFieldsMixin, RefusedSaveMixin, admin.ModelAdmin):
    form = ClaimForm
    list_display = ["claim_text", "speaker_link", "kind", "current_status", "said_on", "last_change"]
    list_display_links = ["claim_text"]
    list_filter = ["status", "kind", SpeakerFilter]
    # No list_select_related: get_queryset joins speaker and status (the changelist then adds nothing).
    # Shown as the search box's fields; get_search_results searches them through the full-text column.
    search_fields = ["text", "quote", "speaker__name"]
    search_help_text = (
        "Whole words in the claim's text, its quote or the speaker's name; “a phrase”, or, -word."
    )
    autocomplete_fields = ["speaker", "source"]
    prepopulated_fields = {"slug": ("text",)}
    readonly_fields = ["quote_check", "current_status", "status_changed_at", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "text",
                    "slug",
                    "speaker",
                    "source",
                    "quote",
                    "fidelity",
                    "kind",
                    ("said_on", "due_on"),
                ]
            },
        ),
        (
            "Status",
            {
                "fields": ["current_status", "status_changed_at", ("created_at", "updated_at")],
                "description": "The claim's status is its latest published verdict: record one below.",
            },
        ),
        ("Quote", {"fields": ["quote_check"]}),
    ]
    inlines = [VerdictTimelineInline, NewVerdictInline]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["kind", "said_on", "last_change"]
    empty_value_display = "not rated"
    Media = SlugMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        """Claims with speaker and status joined in, for the list and the claim's page alike (one query),
        without the tsvector column nobody reads here."""
        return super().get_queryset(request).select_related("speaker", "status").defer("search")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Claim | None:
        """The claim of a change page, with the capture time of the snapshot its quote was verified in
        (annotated in the same query, never the snapshot's text)."""
        queryset = self.get_queryset(request).annotate(quote_captured_at=F("quote_snapshot__captured_at"))
        model = queryset.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (model.DoesNotExist, ValidationError, ValueError):
            return None

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Claim], search_term: str
    ) -> tuple[QuerySet[Claim], bool]:
        """Full-text search over the stored, GIN-indexed `search` column (text, quote, speaker name).

        `icontains` over three columns and a join would read every claim; this uses the index, so a search
        costs the same at a million claims. The same match as the public pages' and the API's ?q=.
        """
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False

    def view_on_site(self, claim: Claim) -> str | None:
        # The public page exists once the claim has a published verdict.
        return claim.get_absolute_url() if claim.is_published else None

    @admin.display(description="claim")
    def claim_text(self, claim: Claim) -> str:
        return str(claim)

    @admin.display(description="speaker")
    def speaker_link(self, claim: Claim) -> SafeString:
        return format_html(
            '<a href="?speaker={}" title="Only this speaker\'s claims">{}</a>',
            claim.speaker.slug,
            claim.speaker,
        )

    def get_fieldsets(self, request: HttpRequest, obj: Claim | None = None) -> list:
        # A claim being added has no status and no record yet: the new-verdict row below says how it gets one.
        return self.fieldsets if obj is not None else self.fieldsets[:1]

    @admin.display(description="check against the source")
    def quote_check(self, claim: Claim) -> str:
        if not claim.quote:
            return "No quote."
        if claim.quote_verified:
            captured = getattr(claim, "quote_captured_at", None)
            when = f" of {timezone.localtime(captured):%Y-%m-%d %H:%M %Z}" if captured else ""
            return (
                f"Verified in the archived text{when}, characters {claim.quote_start} to {claim.quote_end} "
                f"(snapshot {claim.quote_snapshot_id})."
            )
        if claim.fidelity == Fidelity.VERBATIM:
            return (
                "Not verified yet: it is checked against the source's archived text when the claim is saved."
            )
        return f"Not checked: the quote is marked as {claim.get_fidelity_display().split(':')[0].lower()}."

    @admin.display(description="status")
    def current_status(self, claim: Claim) -> SafeString | str:
        # The empty value in words: a readonly field would show a None as "None".
        return status_badge(claim.status) if claim.status is not None else self.get_empty_value_display()

    @admin.display(description="changed", ordering="status_changed_at")
    def last_change(self, claim: Claim) -> str | None:
        # Short (the time zone is the site's, as everywhere in the admin), so the list fits a laptop's
        # screen (tests/test_admin_browser.py).
        if claim.status_changed_at is None:
            return None
        return timezone.localtime(claim.status_changed_at).strftime("%Y-%m-%d %H:%M")

    def get_inline_instances(self, request: HttpRequest, obj: Claim | None = None) -> list:
        # The blank row only for those who may record verdicts; the timeline for those who may see them.
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if not isinstance(inline, NewVerdictInline) or inline.has_add_permission(request, obj)
        ]

    def save_model(self, request: HttpRequest, obj: Claim, form: forms.ModelForm, change: bool) -> None:
        """The claim's own fields through save_claim: never its status, which a verdict sets."""
        save_claim(claim=obj)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        """The timeline is never saved; a filled-in new-verdict row goes through record_verdict."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not isinstance(formset, NewVerdictFormSet):
            return
        for verdict_form in formset.forms:
            if not verdict_form.has_changed():
                continue
            data = verdict_form.cleaned_data
            # A refusal here (a race the form could not see) is a message: see RefusedSaveMixin.
            verdict = record_verdict(
                claim=formset.instance,
                status=data["status"],
                summary=data["summary"],
                explanation=data["explanation"],
                evidence=verdict_form.evidence(),
                publish=data["publish"],
                by=request.user,
            )
            formset.new_objects.append(verdict)
            if verdict.is_published:
                self.message_user(
                    request,
                    f"Published: the claim's status is now “{verdict.status.label}”.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"Saved a draft verdict “{verdict.status.label}”; the claim's status is unchanged until "
                    "it is published.",
                    messages.SUCCESS,
                )


# Verdicts -------------------------------------------------------------------------------------------------


class PublishedFilter(admin.SimpleListFilter):
    title = "publication"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Published"), ("no", "Drafts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Verdict]) -> QuerySet[Verdict]:
        if self.value() == "yes":
            return queryset.published()
        if self.value() == "no":
            return queryset.drafts()
        return queryset


class EvidenceInline(AutocompleteFieldsMixin, admin.TabularInline):
    """A verdict's evidence: editable while the verdict is a draft, read-only once it is published."""

    model = Evidence
    fields = ["source", "note", "position"]
    autocomplete_fields = ["source"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        """The evidence with its source: one query for the whole inline."""
        return super().get_queryset(request).select_related("source")

    def get_extra(self, request: HttpRequest, obj: Verdict | None = None, **kwargs: Any) -> int:
        return 1 if self._is_draft(obj) else 0

    def has_add_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return self._is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return self._is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return self._is_draft(obj) and super().has_delete_permission(request, obj)

    @staticmethod
    def _is_draft(verdict: Verdict | None) -> bool:
        return verdict is not None and not verdict.is_published


@admin.register(Verdict)
class VerdictAdmin(CheckedLookupsMixin, RefusedSaveMixin, admin.ModelAdmin):
    """Verdicts across claims. New verdicts are recorded on their claim's page (through record_verdict),
    so there is no add page here; drafts can be edited and published, published verdicts only read."""

    form = DraftVerdictForm
    list_display = ["summary", "claim_text", "badge", "published", "created_by_name"]
    list_filter = [PublishedFilter, "status", "scale"]
    # Shown as the search box's field; get_search_results matches claims through their full-text column.
    search_fields = ["claim__text"]
    search_help_text = "Whole words in the claim's text, its quote or the speaker's name."
    fields = ["claim", "status", "summary", "explanation", "published", "created_by_name", "created_at"]
    readonly_fields = ["claim", "published", "created_by_name", "created_at"]
    inlines = [EvidenceInline]
    actions = ["publish_drafts"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["published"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        """Verdicts with claim, status and author joined in (the claim's search column deferred)."""
        return (
            super()
            .get_queryset(request)
            .select_related("claim", "status", "created_by")
            .defer("claim__search", "claim__quote")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Verdict], search_term: str
    ) -> tuple[QuerySet[Verdict], bool]:
        """Verdicts on the claims the full-text search finds (GIN-indexed, as on the claim list)."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(claim__in=Claim.objects.search(search_term).values("pk")), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A verdict is recorded on its claim's page, where the claim's scale and timeline are in view.
        return False

    def save_model(self, request: HttpRequest, obj: Verdict, form: forms.ModelForm, change: bool) -> None:
        """A draft through save_draft, which refuses (a message, see RefusedSaveMixin) when the draft was
        published meanwhile; its row lock then keeps it a draft while the evidence inline is saved."""
        save_draft(verdict=obj, status=obj.status, summary=obj.summary, explanation=obj.explanation)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            "subtitle": "To record a new verdict, open its claim: the claim's page has a row for it.",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return not (obj is not None and obj.is_published) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        # Published verdicts are history; drafts may be deleted by those allowed to (not editors).
        return obj is not None and not obj.is_published and super().has_delete_permission(request, obj)

    @admin.display(description="claim")
    def claim_text(self, verdict: Verdict) -> str:
        # A method, not the foreign key: the admin keeps foreign key columns on one line.
        return str(verdict.claim)

    @admin.display(description="status")
    def badge(self, verdict: Verdict) -> SafeString | str:
        return status_badge(verdict.status)

    @admin.display(description="published", ordering="published_at")
    def published(self, verdict: Verdict) -> str:
        if verdict.published_at is None:
            return "Draft"
        return timezone.localtime(verdict.published_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="by")
    def created_by_name(self, verdict: Verdict) -> str:
        return author_name(verdict.created_by)

    @admin.action(description="Publish selected drafts", permissions=["change"])
    def publish_drafts(self, request: HttpRequest, queryset: QuerySet[Verdict]) -> None:
        """Each draft through publish_verdict, oldest first, one transaction each; published ones are skipped."""
        published, refused = 0, []
        skipped = queryset.published().count()
        for verdict in queryset.drafts().order_by("created_at", "id"):
            try:
                publish_verdict(verdict=verdict, by=request.user)
            except ValidationError as error:
                refused.append(f"{verdict.claim}: {' '.join(error.messages)}")
            else:
                published += 1
        if published:
            self.message_user(request, f"Published {published} draft(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} selected verdict(s) were already published.", messages.INFO
            )
        for reason in refused:
            self.message_user(request, f"Not published: {reason}", messages.ERROR)


# Evidence -------------------------------------------------------------------------------------------------


@admin.register(Evidence)
class EvidenceAdmin(CheckedLookupsMixin, AutocompleteFieldsMixin, admin.ModelAdmin):
    """Every citation. Evidence is added on its verdict's page; a published verdict's evidence is read-only."""

    form = EvidenceForm
    # Methods rather than the foreign keys, so the texts wrap and the list fits a laptop's screen (the admin
    # keeps a foreign key's column on one line; tests/test_admin_browser.py).
    list_display = ["source_text", "verdict_text", "note"]
    list_select_related = ["source", "verdict", "verdict__status"]
    search_fields = ["note", "source__title", "source__publisher"]
    autocomplete_fields = ["source"]
    fields = ["verdict", "source", "note", "position"]
    readonly_fields = ["verdict"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        """Evidence with verdict (and its status) and source joined in."""
        return super().get_queryset(request).select_related("verdict", "verdict__status", "source")

    @admin.display(description="source", ordering="source")
    def source_text(self, evidence: Evidence) -> str:
        return str(evidence.source)

    @admin.display(description="verdict", ordering="verdict")
    def verdict_text(self, evidence: Evidence) -> str:
        return str(evidence.verdict)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return not (obj is not None and obj.verdict.is_published) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Evidence | None = None) -> bool:
        return (
            obj is not None and not obj.verdict.is_published and super().has_delete_permission(request, obj)
        )


# Changes --------------------------------------------------------------------------------------------------


@admin.register(StatusChange)
class StatusChangeAdmin(CheckedLookupsMixin, HistoryReadOnlyMixin, admin.ModelAdmin):
    """The append-only record of published status changes: to read, never to write."""

    # The claim as a method, so its text wraps (the admin keeps a foreign key's column on one line), and a
    # short time: the list fits a laptop's screen beside the admin's two sidebars (tests/test_admin_browser.py).
    list_display = ["id", "claim_text", "from_badge", "to_badge", "published", "published_by_name"]
    list_select_related = ["claim", "from_status", "to_status", "published_by"]
    list_filter = ["to_status"]
    fields = ["claim", "from_status", "to_status", "verdict", "published_at", "published_by_name"]
    readonly_fields = fields
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["id", "published"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusChange]:
        """Changes with claim, statuses, verdict and author joined in (the claim's search column deferred)."""
        return (
            super()
            .get_queryset(request)
            .select_related("claim", "from_status", "to_status", "verdict", "published_by")
            .defer("claim__search", "claim__quote")
        )

    @admin.display(description="claim")
    def claim_text(self, change: StatusChange) -> str:
        return str(change.claim)

    @admin.display(description="published", ordering="published_at")
    def published(self, change: StatusChange) -> str:
        return timezone.localtime(change.published_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="from")
    def from_badge(self, change: StatusChange) -> SafeString | str:
        return status_badge(change.from_status)

    @admin.display(description="to")
    def to_badge(self, change: StatusChange) -> SafeString | str:
        return status_badge(change.to_status)

    @admin.display(description="by")
    def published_by_name(self, change: StatusChange) -> str:
        return author_name(change.published_by)
