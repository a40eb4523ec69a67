"""What manage.py and wsgi.py check before anything runs: settings that load, and static files that exist.

A refusal is one line on stderr (`factcheck: ...`) and a non-zero exit, not a traceback or a server that
answers 500 to every page.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


def settings_or_exit(exit_code: int = 1) -> None:
    """Load the settings; if they refuse (a bad or missing variable), print their one-line reason and exit."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading a setting loads the settings module)
    except ImproperlyConfigured as error:
        sys.stderr.write(f"factcheck: {error}\n")
        sys.exit(exit_code)


def missing_static_files() -> str | None:
    """Why the pages cannot be served, when DEBUG is off and collectstatic has not run; else None.

    With DEBUG off, `{% static %}` looks every file up in the manifest that collectstatic writes under
    STATIC_ROOT; without it every page is a 500. Costs one file read.
    """
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    if staticfiles_storage.read_manifest() is not None:
        return None
    return (
        f"the static files are not collected: no {staticfiles_storage.manifest_name} in STATIC_ROOT "
        f"({settings.STATIC_ROOT}), so every page would be a 500. Run: python manage.py collectstatic --noinput"
    )


# Not tagged `staticfiles`, so collectstatic itself (which runs only those) is not stopped by it.
@register()
def static_files_collected(app_configs: Any, **kwargs: Any) -> list[Error]:
    reason = missing_static_files()
    return [Error(reason[0].upper() + reason[1:], id="factcheck.E001")] if reason else []
