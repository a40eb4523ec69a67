from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Fact checks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the project's start-up check (the static files collected when DEBUG is off).
        import factcheck.startup  # noqa: F401

        # Registers the deployment check on SITE_URL / ORGANIZATION_URL (claims.site_urls.check_public_url).
        from claims import site_urls  # noqa: F401
