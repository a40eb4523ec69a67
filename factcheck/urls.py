from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("claims.api.urls")),
    # The OpenAPI document and its interactive page; the page's assets are the sidecar's static files, and
    # its start-up script is served by the same view at ?script= (no inline script: see the CSP in settings).
    # Swagger UI's stylesheet draws its icons as data: images, so that page alone allows them. GET only: DRF
    # would answer OPTIONS with its metadata through the page's template renderer, which has none (a 500).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        csp_replace({"img-src": [SELF, "data:"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="claims/api_docs.html", http_method_names=["get", "head"]
            )
        ),
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
