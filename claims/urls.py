"""The public pages. Other code reverses these names (claims:claim-detail, claims:speaker-detail, ...)."""

from __future__ import annotations

from django.urls import path

from claims import views

app_name = "claims"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    # Atom feeds of the public events: all of them, a speaker's, a claim's.
    path("feed/", views.EventFeed(), name="event-feed"),
    path("claims/", views.ClaimListView.as_view(), name="claim-list"),
    path("claims/<slug:slug>/", views.ClaimDetailView.as_view(), name="claim-detail"),
    path("claims/<slug:slug>/feed/", views.ClaimEventFeed(), name="claim-feed"),
    path("speakers/<slug:slug>/", views.SpeakerDetailView.as_view(), name="speaker-detail"),
    path("speakers/<slug:slug>/feed/", views.SpeakerEventFeed(), name="speaker-feed"),
    # Staff only (a 404 for anyone else): a draft verdict on its claim's page, before it is published.
    path("preview/verdicts/<int:pk>/", views.VerdictPreviewView.as_view(), name="verdict-preview"),
    path("corrections/", views.CorrectionListView.as_view(), name="correction-list"),
    path("corrections/feed/", views.CorrectionFeed(), name="correction-feed"),
]
