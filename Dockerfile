# The image of the pipeline's Python processes: the ghdw package (pip install .: the `ghdw` command
# and every module), the specification's scripts (setup_db.py, ingestion/src/main.py,
# ingestion/src/process_etl.py, ...), the warehouse's SQL (warehouse/, found through GHDW_HOME) and
# the Metabase provisioning script. docker-compose.yml runs one container per process from it.
# Small: slim base, no compiler (psycopg2-binary ships wheels), no embedded PostgreSQL (compose
# runs postgres:16), dependencies in their own layer. Runs as an unprivileged user; no secret is
# baked in: settings come from the environment at run time (.dockerignore keeps .env out).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GHDW_HOME=/app \
    LOG_DIR=/app/ingestion/logs

WORKDIR /app

RUN groupadd --system --gid 10001 pipeline \
    && useradd --system --uid 10001 --gid pipeline --home-dir /app --no-create-home --shell /usr/sbin/nologin pipeline

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml setup_db.py ./
COPY warehouse/ warehouse/
COPY ingestion/src/ ingestion/src/
COPY dashboards/ dashboards/
# The package itself (its dependencies are the layer above); build files are not kept.
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/ingestion/logs && chown pipeline:pipeline /app/ingestion/logs

USER 10001:10001

# Each compose service names its own command; alone, the image reports the warehouse's health.
CMD ["python", "ingestion/src/health.py"]
