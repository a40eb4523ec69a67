"""WSGI entry point for gunicorn: `gunicorn factcheck.wsgi`."""

import os
import sys

import django
from django.core.wsgi import get_wsgi_application

from factcheck.startup import missing_static_files, settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factcheck.settings")

# Exit code 4 is gunicorn's "the app failed to load": its master stops instead of restarting the worker in
# a loop, and the reason is the one line printed among its own log lines.
APP_LOAD_ERROR = 4

settings_or_exit(APP_LOAD_ERROR)
django.setup(set_prefix=False)
if reason := missing_static_files():
    sys.stderr.write(f"factcheck: {reason}\n")
    sys.exit(APP_LOAD_ERROR)
application = get_wsgi_application()
