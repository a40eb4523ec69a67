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
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from claims.audit import HISTORY_LIMIT, history_of
from claims.forms import (
    EVIDENCE_PAIR_NUMBERS,
    AutocompleteSelect,
    ClaimForm,
    DraftVerdictForm,
    EvidenceForm,
    NewSnapshotForm,
    NewVerdictForm,
    NewVerdictFormSet,
    SpeakerForm,
    VersionedForm,
    similar_claims,
)
from claims.models import (
    Claim,
    ClientKey,
    Correction,
    EventType,
    Evidence,
    Fidelity,
    Scope,
    Source,
    SourceSnapshot,
    Speaker,
    Status,
    StatusChange,
    Verdict,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    overdue_condition,
)
from claims.services import (
    archive_source_text,
    publication_permission_errors,
    publish_verdict,
    record_verdict,
    save_claim,
    save_draft,
    save_edit,
)
from claims.webhooks import (
    ReplayRefused,
    delete_endpoint,
    replay,
    rotate_secret,
    save_endpoint,
    validate_endpoint_url,
)


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


class AuditHistoryMixin:
    """Every admin here: the History button shows the object's audit history (claims.audit), newest first:
    when, who, through what, and each field's old → new value. Every write is there, the admin's and any
    other (services, commands, raw SQL), unlike Django's own history, which knows only the admin's.

    Anyone who may view the object may read it. Costs a fixed number of queries, whatever the number of
    events: the object, the events, the users and the related objects they name (claims.audit.history_of).
    """

    object_history_template = "admin/claims/audit_history.html"

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        admin_options: Any = self
        opts = admin_options.model._meta
        obj = admin_options.get_object(request, unquote(object_id))
        if obj is None:
            return admin_options._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not admin_options.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        changes = history_of(obj)
        context = {
            **admin_options.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "module_name": str(capfirst(opts.verbose_name_plural)),
            "object": obj,
            "opts": opts,
            "changes": changes,
            "limited": len(changes) >= HISTORY_LIMIT,
            "limit": HISTORY_LIMIT,
            "preserved_filters": admin_options.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = admin_options.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)


class RefusedSaveMixin:
    """An admin whose saves go through claims.services: a refusal there is a message, never a 500.

    The forms make the services' own checks first, and a VersionedForm makes them holding the row's lock
    (a stale page, or a status published since the page was opened, is shown again with the input kept), so
    a service refuses only what no form could check under that lock. Django's changeform_view runs the
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
            # Escaped, except a message the services made as HTML (a link to the duplicate claim).
            said = format_html_join(
                " ",
                "{}{}",
                (
                    (
                        ""
                        if field in (None, NON_FIELD_ERRORS)
                        else field.replace("_", " ").capitalize() + ": ",
                        text,
                    )
                    for field, texts in reasons.items()
                    for text in texts
                ),
            )
            self.message_user(request, format_html("Nothing was saved. {}", said), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())


class VersionedAdminMixin:
    """An admin whose change form is a claims.forms.VersionedForm: the page carries the version it was
    opened at (a hidden field in the first fieldset), a save from a page opened before someone else's is
    shown again with the reason and the editor's input (the form's own check, under the row lock), and a
    save writes only the fields the editor changed (save_edit here; ClaimAdmin and VerdictAdmin through
    their own services, with the same arguments).
    """

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if obj is None:
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], "opened_version"]}), *rest]

    def save_model(self, request: HttpRequest, obj: Any, form: VersionedForm, change: bool) -> None:
        if not change:
            obj.save()
            return
        save_edit(obj=obj, fields=form.edited_fields, expected_version=form.expected_version)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        # A list's editable rows too write only what the editor changed (their hidden initial values); the
        # list carries no version, so a row is not refused, but a value nobody typed is never written back.
        kwargs.setdefault("form", VersionedForm)
        return super().get_changelist_form(request, **kwargs)  # type: ignore[misc]


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


# The index lists the drafts awaiting review above the apps (claims/templatetags/review_queue.py).
admin.site.index_template = "admin/claims/index.html"


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
class SpeakerAdmin(AuditHistoryMixin, CheckedLookupsMixin, VersionedAdminMixin, admin.ModelAdmin):
    form = SpeakerForm
    list_display = ["name", "role", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = URL_FIELDS
    fields = ["name", "slug", "role", "description", "url", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    Media = SlugMedia

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Speaker], search_term: str
    ) -> tuple[QuerySet[Speaker], bool]:
        """Django's search (each word in the name or the slug), and names holding a word spelled like the
        search (Speaker.objects.named_like: "Zelenskyy" finds Volodymyr Zelensky), for the list and the
        speaker autocomplete alike. One query, the name's trigram GIN index serving the near-spellings.
        """
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip():
            return found, may_have_duplicates
        return found | queryset.named_like(search_term), may_have_duplicates


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
class SourceAdmin(
    AuditHistoryMixin, CheckedLookupsMixin, RefusedSaveMixin, VersionedAdminMixin, admin.ModelAdmin
):
    form = VersionedForm
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
class SourceSnapshotAdmin(AuditHistoryMixin, CheckedLookupsMixin, HistoryReadOnlyMixin, admin.ModelAdmin):
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
class StatusAdmin(AuditHistoryMixin, CheckedLookupsMixin, VersionedAdminMixin, admin.ModelAdmin):
    form = VersionedForm
    # Narrow enough for a laptop's screen beside the admin's two sidebars (tests/test_admin_browser.py):
    # the scale by its short name, small inputs for the label and the position.
    list_display = ["badge", "label", "scale_name", "position", "is_open", "colour", "slug"]
    list_display_links = ["badge"]
    list_editable = ["label", "position", "colour"]
    list_filter = ["scale"]
    ordering = ["scale", "-position", "id"]
    fields = ["scale", "label", "slug", "position", "colour", "is_open", "description"]
    Media = SlugMedia
    # What a status in use keeps (a database trigger refuses too, migration 0016): relabelling, moving or
    # rescaling it would silently rewrite every rating made with it and its ClaimReview.
    FIXED_IN_USE = ["label", "position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Status]:
        """Statuses with `in_use`: whether any verdict uses one (an EXISTS on the verdicts' status index, in
        the same query)."""
        return (
            super()
            .get_queryset(request)
            .annotate(in_use=Exists(Verdict.objects.filter(status=OuterRef("pk"))))
        )

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
        fixed = self.FIXED_IN_USE

        class StatusRowForm(super().get_changelist_form(request, **kwargs)):  # type: ignore[misc]
            """A row of the list: a status in use shows its label and position but does not take them."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                if getattr(self.instance, "in_use", False):
                    for name in fixed:
                        self.fields[name].disabled = True
                        self.fields[name].help_text = "In use by verdicts: fixed (a change is a migration)."

        return StatusRowForm

    def get_readonly_fields(self, request: HttpRequest, obj: Status | None = None) -> list[str]:
        # Verdicts and claims hold a status together with its scale (composite foreign keys), and the slug
        # is what API consumers filter by and what the default data refers to: both are fixed once saved.
        # A status in use keeps its label and position too.
        if obj is None:
            return []
        return ["scale", "slug", *self.FIXED_IN_USE] if getattr(obj, "in_use", False) else ["scale", "slug"]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Status | None = None) -> dict:
        return {} if obj is not None else {"slug": ("label",)}

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        if db_field.name == "colour":
            kwargs["widget"] = forms.TextInput(attrs={"type": "color"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# Claims ---------------------------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    """Claims overdue today (claims.models.overdue_condition), or not: the ones an editor should settle."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        condition = overdue_condition(timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(condition)
        if self.value() == "no":
            return queryset.exclude(condition)
        return queryset


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
            list(Speaker.objects.named_like(self.find_text).exclude(slug=self.slug)[: self.shown])
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
                "fields": ["status", "summary", "explanation", "publish", "status_seen"],
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

    @staticmethod
    def offers_publish(request: HttpRequest) -> bool:
        """Whether the row offers "Publish now": never while review is required (its author would publish
        it), otherwise to users who may publish. claims.services refuses the rest anyway."""
        return not settings.REVIEW_REQUIRED and request.user.has_perm("claims.publish_verdict")

    def get_fieldsets(self, request: HttpRequest, obj: Claim | None = None) -> list:
        (name, options), *rest = self.fieldsets
        fields, description = list(options["fields"]), options["description"]
        if not self.offers_publish(request):
            fields.remove("publish")
            description = (
                "Fill this in to record a new verdict: it is saved as a draft awaiting review, and becomes the "
                "claim's status when a reviewer publishes it. Leave it blank to save only the claim."
                if settings.REVIEW_REQUIRED
                else "Fill this in to record a new verdict: it is saved as a draft, and becomes the claim's "
                "status when someone who may publish publishes it. Leave it blank to save only the claim."
            )
        # A fact with a rating: a verdict that changes it needs its reason (record_verdict checks).
        if obj is not None and obj.is_published and obj.expected_scale == "accuracy":
            fields.append("correction_note")
        return [(name, {**options, "fields": fields, "description": description}), *rest]


@admin.register(Claim)
class ClaimAdmin(
    AuditHistoryMixin,
    CheckedLookupsMixin,
    AutocompleteFieldsMixin,
    RefusedSaveMixin,
    VersionedAdminMixin,
    admin.ModelAdmin,
):
    form = ClaimForm
    list_display = ["claim_text", "speaker_link", "kind", "current_status", "said_on", "last_change"]
    list_display_links = ["claim_text"]
    list_filter = ["status", "kind", OverdueFilter, SpeakerFilter]
    # No list_select_related: get_queryset joins speaker and status (the changelist then adds nothing).
    # Shown as the search box's fields; get_search_results searches them through the full-text column.
    search_fields = ["text", "quote", "speaker__name"]
    search_help_text = (
        "Whole words in the claim's text, its quote or the speaker's name (a name also spelled nearly: "
        "“Zelenskyy”); “a phrase”, or, -word."
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

    class Media:
        # similar.js keeps the "Similar claims" panel up to date as the editor types (similar_view).
        js = [*SlugMedia.js, "claims/admin/similar.js"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        """Claims with speaker and status joined in, for the list and the claim's page alike (one query),
        without the tsvector column nobody reads here."""
        return (
            super()
            .get_queryset(request)
            .select_related("speaker", "status")
            .defer("search", "quote_normalised")
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path("similar/", self.admin_site.admin_view(self.similar_view), name="claims_claim_similar"),
            *super().get_urls(),
        ]

    def similar_view(self, request: HttpRequest) -> JsonResponse:
        """The claims most like a claim being written, as JSON for the claim page's "Similar claims" panel
        (claims/static/claims/admin/similar.js): GET text, quote, speaker (an id) and claim (the claim's own
        id, left out). For those who may view claims. One query (none without text or quote).
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        params = request.GET
        found = similar_claims(
            text=params.get("text", "")[:SIMILAR_LOOKUP_MAX_CHARS],
            quote=params.get("quote", "")[:SIMILAR_LOOKUP_MAX_CHARS],
            speaker_id=_id_or_none(params.get("speaker", "")),
            exclude_pk=_id_or_none(params.get("claim", "")),
        )
        return JsonResponse(
            {
                "claims": [
                    {
                        "text": str(claim),
                        "speaker": claim.speaker.name,
                        "same_speaker": claim.same_speaker,
                        "status": claim.status.label
                        if claim.status is not None
                        else self.empty_value_display,
                        "similarity": round(claim.similarity, 2),
                        "url": reverse("admin:claims_claim_change", args=[claim.pk]),
                    }
                    for claim in found
                ]
            }
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Claim | None = None,
    ) -> HttpResponse:
        """Adds the "Similar claims" panel's claims: the form's, when it was submitted; a saved claim's own
        as it stands otherwise (one query); none yet for a new claim's empty form."""
        form = context["adminform"].form
        if form.similar is None and obj is not None and obj.pk is not None:
            form.similar = similar_claims(
                text=obj.text, quote=obj.quote, speaker_id=obj.speaker_id, exclude_pk=obj.pk
            )
        context.update(similar_claims=form.similar or [], confirm_different_claim=form.needs_confirmation)
        return super().render_change_form(request, context, add, change, form_url, obj)

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

    correction_fieldset = (
        "Correction",
        {
            "fields": ["correction_note"],
            "description": "This claim is published. Changing its text, quote, speaker, source, date said or "
            "kind is a public correction: say what was corrected and why. The slug and due date change "
            "freely (an old address keeps working).",
        },
    )

    def get_fieldsets(self, request: HttpRequest, obj: Claim | None = None) -> list:
        # A claim being added has no status and no record yet: the new-verdict row below says how it gets one.
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets[:1]
        # A published claim's edits may be corrections: their note comes after the claim's fields.
        if obj.is_published:
            return [fieldsets[0], self.correction_fieldset, *fieldsets[1:]]
        return fieldsets

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

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Claim, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, NewVerdictInline):
            kwargs["offer_publish"] = inline.offers_publish(request)
        return kwargs

    def save_model(self, request: HttpRequest, obj: Claim, form: forms.ModelForm, change: bool) -> None:
        """The claim's own fields through save_claim: only those the editor changed, never its status (a
        verdict sets it), and refused when someone saved the claim since the page was opened. A published
        claim's correction is appended with its note."""
        save_claim(
            claim=obj,
            expected_version=form.expected_version,
            fields=form.edited_fields,
            correction_note=form.cleaned_data.get("correction_note", ""),
            by=request.user,
        )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        """The timeline is never saved; a filled-in new-verdict row goes through record_verdict."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not isinstance(formset, NewVerdictFormSet):
            return
        for verdict_form in formset.forms:
            if not verdict_form.has_changed():
                continue
            data = verdict_form.cleaned_data
            # A refusal here (a race the form could not see) is a message: see RefusedSaveMixin. A status
            # changed since the page was opened is not one: the form refused it under the claim's lock.
            verdict = record_verdict(
                claim=formset.instance,
                status=data["status"],
                summary=data["summary"],
                explanation=data["explanation"],
                evidence=verdict_form.evidence(),
                publish=data.get("publish", False),
                by=request.user,
                status_seen=verdict_form.seen(),
                correction_note=data.get("correction_note", ""),
            )
            formset.new_objects.append(verdict)
            if verdict.is_published:
                self.message_user(
                    request,
                    f"Published: the claim's status is now “{verdict.status.label}”.",
                    messages.SUCCESS,
                )
            elif settings.REVIEW_REQUIRED:
                self.message_user(
                    request,
                    f"Saved a draft verdict “{verdict.status.label}”, awaiting review: a reviewer publishes "
                    "it from its own page. The claim's status is unchanged until then.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"Saved a draft verdict “{verdict.status.label}”; the claim's status is unchanged until "
                    "it is published.",
                    messages.SUCCESS,
                )


# The most of a text or quote the similar-claims lookup compares (a claim is a sentence, a quote a few).
SIMILAR_LOOKUP_MAX_CHARS = 2000


def _id_or_none(raw: str) -> int | None:
    """A query-string id: whole ASCII digits that fit a bigint, else None (the lookup then ignores it)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


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
class VerdictAdmin(
    AuditHistoryMixin, CheckedLookupsMixin, RefusedSaveMixin, VersionedAdminMixin, admin.ModelAdmin
):
    """Verdicts across claims. New verdicts are recorded on their claim's page (through record_verdict),
    so there is no add page here; drafts can be edited and published, published verdicts only read."""

    form = DraftVerdictForm
    list_display = ["summary", "claim_text", "badge", "published", "created_by_name"]
    list_filter = [PublishedFilter, "status", "scale"]
    # Shown as the search box's field; get_search_results matches claims through their full-text column.
    search_fields = ["claim__text"]
    search_help_text = "Whole words in the claim's text, its quote or the speaker's name."
    fields = [
        "claim",
        "status",
        "summary",
        "explanation",
        "correction_note",
        "published",
        "created_by_name",
        "created_at",
    ]
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

    def get_fields(self, request: HttpRequest, obj: Verdict | None = None) -> list[str]:
        # The reason for changing a rating is a fact's (the accuracy scale's) only.
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.scale != "accuracy":
            fields.remove("correction_note")
        return fields

    def save_model(self, request: HttpRequest, obj: Verdict, form: forms.ModelForm, change: bool) -> None:
        """A draft through save_draft, which refuses (a message, see RefusedSaveMixin) when the draft was
        published meanwhile; its row lock then keeps it a draft while the evidence inline is saved."""
        save_draft(
            verdict=obj,
            status=obj.status,
            summary=obj.summary,
            explanation=obj.explanation,
            expected_version=form.expected_version,
            fields=form.edited_fields,
            correction_note=obj.correction_note if "correction_note" in form.fields else None,
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            "subtitle": "To record a new verdict, open its claim: the claim's page has a row for it.",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return not (obj is not None and obj.is_published) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        # Published verdicts are history; drafts may be deleted by those allowed to (reviewers, not editors),
        # one at a time from the draft's page.
        return obj is not None and not obj.is_published and super().has_delete_permission(request, obj)

    # Review before publication ---------------------------------------------------------------------------

    def has_publish_permission(self, request: HttpRequest) -> bool:
        """Whether the user may publish verdicts at all (the Reviewers group); the "Publish selected drafts"
        action is offered only then. Whether they may publish a given draft is
        claims.services.publication_permission_errors."""
        return request.user.has_perm("claims.publish_verdict")

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="claims_verdict_publish",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Verdict | None = None,
    ) -> HttpResponse:
        """A draft's page says who wrote it and offers a preview on the site and, to a user who may publish
        it, a Publish button (admin/claims/verdict/change_form.html). No query beyond the user's
        permissions."""
        if obj is not None and obj.pk is not None and not obj.is_published:
            refusals = publication_permission_errors(author_id=obj.created_by_id, by=request.user)
            context["review"] = {
                "author": author_name(obj.created_by),
                "preview_url": reverse("claims:verdict-preview", args=[obj.pk]),
                "publish_url": reverse("admin:claims_verdict_publish", args=[obj.pk]),
                "refusal": " ".join(refusals),
                "required": settings.REVIEW_REQUIRED,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST only (CSRF-checked by admin_view): publish the draft, as last saved, through publish_verdict
        (which checks the user may: publication_permission_errors), then back to its claim. A refusal is a
        message on the draft's page, never a 500."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        verdict = self.get_object(request, unquote(object_id))
        if verdict is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, verdict):
            raise PermissionDenied
        try:
            verdict = publish_verdict(verdict=verdict, by=request.user)
        except ValidationError as refused:
            self.message_user(request, f"Not published: {' '.join(refused.messages)}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:claims_verdict_change", args=[verdict.pk]))
        self.log_change(request, verdict, "Published.")
        self.message_user(
            request, f"Published: the claim's status is now “{verdict.status.label}”.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[verdict.claim_id]))

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

    @admin.action(description="Publish selected drafts", permissions=["publish"])
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
class EvidenceAdmin(AuditHistoryMixin, CheckedLookupsMixin, AutocompleteFieldsMixin, admin.ModelAdmin):
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


class PublicationRecordMixin:
    """The columns of an append-only publication record (a status change, a correction): its claim, when it
    was published and by whom."""

    @admin.display(description="claim")
    def claim_text(self, record: StatusChange | Correction) -> str:
        # A method, not the foreign key: the admin keeps a foreign key's column on one line.
        return str(record.claim)

    @admin.display(description="published", ordering="published_at")
    def published(self, record: StatusChange | Correction) -> str:
        return timezone.localtime(record.published_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="by")
    def published_by_name(self, record: StatusChange | Correction) -> str:
        return author_name(record.published_by)


@admin.register(StatusChange)
class StatusChangeAdmin(
    PublicationRecordMixin, AuditHistoryMixin, CheckedLookupsMixin, HistoryReadOnlyMixin, admin.ModelAdmin
):
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

    @admin.display(description="from")
    def from_badge(self, change: StatusChange) -> SafeString | str:
        return status_badge(change.from_status)

    @admin.display(description="to")
    def to_badge(self, change: StatusChange) -> SafeString | str:
        return status_badge(change.to_status)


# Corrections ----------------------------------------------------------------------------------------------


@admin.register(Correction)
class CorrectionAdmin(
    PublicationRecordMixin, AuditHistoryMixin, CheckedLookupsMixin, HistoryReadOnlyMixin, admin.ModelAdmin
):
    """The append-only record of published corrections: to read, never to write (claims.services writes
    them, with a claim's edit or a changed rating)."""

    list_display = ["id", "claim_text", "note", "changed", "published", "published_by_name"]
    list_select_related = ["claim", "published_by"]
    fields = [
        "claim",
        "note",
        "changes",
        "verdict",
        "from_status",
        "to_status",
        "published_at",
        "published_by",
    ]
    readonly_fields = fields
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["id", "published"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Correction]:
        """Corrections with claim and author joined in (the claim's search column and quote deferred)."""
        return (
            super()
            .get_queryset(request)
            .select_related("claim", "published_by", "verdict", "from_status", "to_status")
            .defer("claim__search", "claim__quote")
        )

    @admin.display(description="changed")
    def changed(self, correction: Correction) -> str:
        return ", ".join(sorted(correction.changes)) or "-"


# Webhooks ---------------------------------------------------------------------------------------------------
# Who may manage them: superusers, and users given the webhook endpoint permissions by hand. The Editors and
# Reviewers groups do not have them: an endpoint sends every public event to an outside address, and its
# secret is a credential, so registering one is an administrator's decision, not an editorial one.

RECENT_ATTEMPTS = 20


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        help_text=WebhookEndpoint._meta.get_field("url").help_text,
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these kinds of event (none chosen: all).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "speaker", "claim", "event_types", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        validate_endpoint_url(url)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """Endpoints: the secret is shown once, on the page after the endpoint is made or its secret rotated,
    and never again; the change page shows its latest attempts (the delivery log)."""

    form = WebhookEndpointForm
    list_display = ["__str__", "url", "is_active", "filters", "owner", "last_success_at", "disabled_reason"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    autocomplete_fields = ["speaker", "claim"]
    list_select_related = ["speaker", "claim", "key__user"]
    formfield_overrides = URL_FIELDS
    readonly_fields = [
        "owner",
        "secret_state",
        "disabled_reason",
        "disabled_at",
        "last_success_at",
        "failing_since",
        "created_by",
        "created_at",
        "delivery_log",
    ]
    actions = ["rotate_secrets"]
    one_time_page_template = "admin/claims/webhookendpoint/secret.html"

    def get_fieldsets(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list:
        main = ["url", "description", "speaker", "claim", "event_types", "is_active"]
        if obj is None:
            return [(None, {"fields": main})]
        return [
            (None, {"fields": main}),
            ("State", {"fields": self.readonly_fields[:-1]}),
            ("Delivery log", {"fields": ["delivery_log"]}),
        ]

    @admin.display(description="filters")
    def filters(self, endpoint: WebhookEndpoint) -> str:
        parts = [
            f"speaker: {endpoint.speaker}" if endpoint.speaker_id else "",
            f"claim: {endpoint.claim_id}" if endpoint.claim_id else "",
            ", ".join(endpoint.event_types),
        ]
        return "; ".join(part for part in parts if part) or "all events"

    @admin.display(description="API key")
    def owner(self, endpoint: WebhookEndpoint) -> str:
        """The key that registered it through the API (read-only: an endpoint stays its key's), and whether
        the key still lets it be sent events."""
        if endpoint.key_id is None:
            return "None: made in the admin"
        if endpoint.key.in_force(timezone.now()):
            return str(endpoint.key)
        return f"{endpoint.key}: revoked, expired or its user inactive, so it is sent nothing"

    @admin.display(description="secret")
    def secret_state(self, endpoint: WebhookEndpoint) -> str:
        # Never the secret itself: it was shown once.
        if endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > timezone.now():
            return (
                "Set (shown once). Rotated: the previous secret also signs until "
                f"{timezone.localtime(endpoint.previous_secret_expires_at):%Y-%m-%d %H:%M %Z}."
            )
        return "Set (shown once, when the endpoint was made or its secret last rotated)."

    @admin.display(description="latest attempts")
    def delivery_log(self, endpoint: WebhookEndpoint) -> SafeString | str:
        """The endpoint's latest attempts (one query), the response excerpt escaped."""
        attempts = list(
            WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
            .select_related("delivery")
            .order_by("-started_at", "-id")[:RECENT_ATTEMPTS]
        )
        link = format_html(
            '<p><a href="{}?endpoint__id__exact={}">All deliveries to this endpoint</a></p>',
            reverse("admin:claims_webhookdelivery_changelist"),
            endpoint.pk,
        )
        if not attempts:
            return format_html("{}<p>No attempt yet.</p>", link)
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td><code>{}</code></td></tr>",
            (
                (
                    reverse("admin:claims_webhookdelivery_change", args=[attempt.delivery_id]),
                    attempt.delivery.webhook_id,
                    attempt.number,
                    f"{timezone.localtime(attempt.started_at):%Y-%m-%d %H:%M:%S}",
                    attempt.status_code or "-",
                    f"{attempt.latency_ms} ms" if attempt.latency_ms is not None else "-",
                    attempt.error or ("sending" if not attempt.finished else ""),
                    attempt.response_excerpt[:200],
                )
                for attempt in attempts
            ),
        )
        return format_html(
            "{}<table><thead><tr><th>webhook-id</th><th>attempt</th><th>started</th><th>status</th>"
            "<th>latency</th><th>error</th><th>response</th></tr></thead><tbody>{}</tbody></table>",
            link,
            rows,
        )

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            return
        # The form's fields only; ticking "active" again clears why it was disabled (as the API's PATCH).
        save_endpoint(
            obj,
            fields=WebhookEndpointForm.Meta.fields,
            enabled_again="is_active" in form.changed_data and obj.is_active,
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        delete_endpoint(obj)  # in the worker's lock order, as the API deletes one

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            delete_endpoint(endpoint)

    def _secret_page(
        self, request: HttpRequest, title: str, endpoints: list[tuple[WebhookEndpoint, str]]
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "endpoints": endpoints,
        }
        response = TemplateResponse(request, self.one_time_page_template, context)
        response["Cache-Control"] = "no-store"
        return response

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The one page that shows the new secret, instead of a redirect (a message would keep it in the
        # session or a cookie).
        return self._secret_page(request, "Webhook endpoint added: copy its secret now", [(obj, obj.secret)])

    @admin.action(
        description="Rotate the secret (the old one still signs for 24 hours)", permissions=["change"]
    )
    def rotate_secrets(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse:
        rotated = [(endpoint, rotate_secret(endpoint)) for endpoint in queryset]
        return self._secret_page(request, "New secrets: copy them now", rotated)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "status_code", "latency_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every event sent to every endpoint, its attempts, and "replay"."""

    list_display = [
        "webhook_id",
        "endpoint",
        "event_type",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["state", "endpoint"]
    list_select_related = ["endpoint", "event"]
    fields = [
        "webhook_id",
        "endpoint",
        "event",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "completed_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["replay_deliveries"]
    show_full_result_count = False

    @admin.display(description="webhook-id")
    def webhook_id(self, delivery: WebhookDelivery) -> str:
        return delivery.webhook_id

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Replay: send again, with the same webhook-id", permissions=["change"])
    def replay_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = 0
        for delivery in queryset:
            try:
                replay(delivery)
            except ReplayRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                queued += 1
        if queued:
            self.message_user(
                request, f"{queued} deliveries queued again; the worker sends them.", messages.SUCCESS
            )


# API keys -------------------------------------------------------------------------------------------------

# The package's own key model is not used (claims.ClientKey is): its admin page would only mislead.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ClientKeyForm(forms.ModelForm):
    """An API key's settings; the scopes as checkboxes (the column is an array of scope names)."""

    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ClientKey._meta.get_field("scopes").help_text,
    )

    class Meta:
        model = ClientKey
        fields = ["name", "user", "scopes", "throttle_rate", "expiry_date", "revoked"]


@admin.register(ClientKey)
class ClientKeyAdmin(AuditHistoryMixin, CheckedLookupsMixin, APIKeyModelAdmin):
    """API keys (djangorestframework-api-key's admin): the key is shown once, in a message, when it is made;
    only its hash is stored. A revoked key is read-only, and revoking cannot be undone. Superusers only,
    unless a user is given the API key permissions; such a user makes keys for themselves only (a key acts
    as its user, so making one is handing out that user's access)."""

    form = ClientKeyForm
    list_display = [
        "prefix",
        "name",
        "user",
        "scope_list",
        "throttle_rate",
        "created",
        "expiry_date",
        "revoked",
    ]
    list_filter = ["revoked"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    autocomplete_fields = ["user"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_fields(self, request: HttpRequest, obj: ClientKey | None = None) -> list[str]:
        fields = ["name", "user", "scopes", "throttle_rate", "expiry_date", "revoked"]
        return fields if obj is None else ["prefix", *fields, "created"]

    def get_readonly_fields(self, request: HttpRequest, obj: ClientKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if obj.revoked:
            return ("prefix", "name", "user", "scopes", "throttle_rate", "expiry_date", "revoked", "created")
        # A key keeps its user: moving it to another user would hand that user's access to its holder.
        return ("prefix", "user", "created")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only a superuser makes a key for someone else: a key acts as its user, so making one for another
        # user would hand their access to whoever holds it.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = db_field.related_model.objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="scopes")
    def scope_list(self, key: ClientKey) -> str:
        return ", ".join(key.scopes) or "read only"
