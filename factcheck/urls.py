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
    # Swagger UI's stylesheet draws its icons as data: images, so that page alone allows them.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        csp_replace({"img-src": [SELF, "data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="claims/api_docs.html")
        ),
        name="api-docs",
    ),
    path("", include("claims.urls")),
]
