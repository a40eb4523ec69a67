"""Cursor paging shared by the API and the public pages: no COUNT(*), no OFFSET, one query a page.

A page is the rows after the cursor's position in the list's ordering, fetched with LIMIT page_size + 1,
so page 1 and page 25,000 cost the same.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 100


class ClaimCursorPagination(CursorPagination):
    """Claims, latest status change first; by relevance first when the queryset is a search (has `rank`)."""

    page_size = 20
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    ordering = ("-status_changed_at", "-id")

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        if "rank" in queryset.query.annotations:
            return ("-rank", "-status_changed_at", "-id")
        return self.ordering

    def get_page_size(self, request) -> int:
        """page_size from 1 up; above the maximum it is capped. Anything else is a 400."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return min(value, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        """One query a page. A cursor whose position is not a value of the ordering's field (a forged one:
        the position is not signed) is the same 400 as a malformed one; without a cursor nothing is caught.
        """
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError):
            if not request.query_params.get(self.cursor_query_param):
                raise
            raise ValidationError({self.cursor_query_param: ["Invalid or expired cursor."]}) from None

    def decode_cursor(self, request):
        """A malformed cursor is a 400 that says so (DRF's own answer is a bare 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["Invalid or expired cursor."]}) from None
