# factcheck in production: gunicorn behind your TLS-terminating proxy, PostgreSQL from DATABASE_URL.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY factcheck ./factcheck
COPY claims ./claims
COPY fixtures ./fixtures
COPY manage.py ./
RUN pip install . \
    && DEBUG=false SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
       DATABASE_URL=postgres://unused@localhost/unused python manage.py collectstatic --noinput \
    && useradd --system --home /app factcheck

USER factcheck
EXPOSE 8000
# The same steps as `make run`, with gunicorn instead of the development server (no dev account): a failed
# migrate stops the start (the container exits); a failed default-data load only warns, so it never restart-loops.
CMD ["sh", "-c", "python manage.py migrate --noinput && { python manage.py load_default_data || echo 'WARNING: the default data were not loaded (the error is above); serving without them.' >&2; } && exec gunicorn factcheck.wsgi --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
