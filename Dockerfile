# The image behind docker-compose.yml's web, worker and beat services.
FROM python:3.11-slim

# PYTHONPATH: the source tree in /app, with templates/ and static/ beside the packages, is
# what runs (pip install . also puts the packages in site-packages, for the dependencies).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# The whole build context: .dockerignore keeps out local state (.venv/, var/, .env),
# caches and the development-only trees, so a new package or folder needs no edit here.
COPY . .
RUN pip install . && rm -rf build ./*.egg-info

# Production settings need a secret and hosts to load; these are used for this step only.
RUN PRODUCTION=1 SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --user-group --no-create-home app \
    && mkdir -p var/media \
    && chown -R app:app var
USER app

EXPOSE 8000
# --proxy-headers trusts the hops in FORWARDED_ALLOW_IPS, the variable the settings read.
CMD ["uvicorn", "conferencing.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--ws", "websockets", "--proxy-headers"]
