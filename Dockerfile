# Production image: Debian 12 (same GDAL/GEOS/PROJ as the development path), gunicorn + Celery.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CARTOPARTY_VAR_DIR=/var/lib/cartoparty
RUN apt-get update && apt-get install -y --no-install-recommends \
      gdal-bin libgdal32 libgeos-c1v5 libproj25 osmium-tool gettext fonts-dejavu-core fonts-noto-core \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY core core
COPY mapping mapping
COPY parties parties
COPY review review
COPY exports exports
RUN pip install --no-cache-dir .
COPY . .
# Bytecode at build time: the image never writes it (PYTHONDONTWRITEBYTECODE), and compiling at
# every process start costs each command ~40 ms.
RUN python -m compileall -q config core mapping parties review exports \
    && DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && useradd --system --home /app cartoparty && mkdir -p /var/lib/cartoparty \
    && chown -R cartoparty /var/lib/cartoparty
USER cartoparty
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
