"""The API's routes under /api/v1/ (namespace "api"): claims, speakers, sources, statuses, changes, corrections,
events, webhooks, and the exports of every published claim (claims.exports)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from claims.api import views

app_name = "api"

router = DefaultRouter()
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("speakers", views.SpeakerViewSet, basename="speaker")
router.register("sources", views.SourceViewSet, basename="source")
router.register("statuses", views.StatusViewSet, basename="status")
router.register("changes", views.StatusChangeViewSet, basename="change")
router.register("corrections", views.CorrectionViewSet, basename="correction")
router.register("events", views.EventViewSet, basename="event")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    *router.urls,
    path("exports/claims.csv", views.ClaimCsvExportView.as_view(), name="export-claims-csv"),
    path("exports/claims.jsonl", views.ClaimJsonLinesExportView.as_view(), name="export-claims-jsonl"),
    path("exports/claimreview.json", views.ClaimReviewFeedView.as_view(), name="export-claimreview"),
]
