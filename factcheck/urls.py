from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("claims.api.urls")),
    # The OpenAPI document and its interactive page; the page's assets are the sidecar's static files.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # GET only: DRF would answer OPTIONS with its metadata through the page's template renderer, which
    # has no template for it (a 500).
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", http_method_names=["get", "head"]),
        name="api-docs",
    ),
    path("", include("claims.urls")),
]

# Errors that no view answers itself: a problem document (claims.api.errors) under /api/, Django's own page
# elsewhere.
handler400 = "claims.api.errors.bad_request"
handler403 = "claims.api.errors.permission_denied"
handler404 = "claims.api.errors.page_not_found"
handler500 = "claims.api.errors.server_error"
