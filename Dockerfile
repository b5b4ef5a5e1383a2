# cloudstore production image: a wheel built in one stage, installed into a slim runtime as a non-root user.
# Needs DATABASE_URL (the embedded PostgreSQL is for development machines, not containers).

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY cloudstore ./cloudstore
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CLOUDSTORE_ENV=prod \
    PORT=8000
RUN groupadd --system cloudstore && useradd --system --gid cloudstore --home-dir /app --create-home cloudstore
WORKDIR /app
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm -f /tmp/*.whl
COPY tenants ./tenants
USER cloudstore
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/healthz', timeout=2)"
# Migrations run first (guarded by an advisory lock, so several replicas may start at once), then the server.
CMD ["sh", "-c", "cloudstore db upgrade && exec cloudstore serve --no-migrate --port ${PORT}"]
