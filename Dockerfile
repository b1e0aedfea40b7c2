# syntax=docker/dockerfile:1
# Demo FastAPI service. Multi-stage: uv resolves the locked dependencies into /opt/venv in
# a build stage; the final stage is python:3.11-slim-bookworm with that venv, the code and
# a non-root user: no uv, no compiler (every dependency installs from a wheel). Nothing in
# the image needs write access outside /var/log/app, so it runs with a read-only root filesystem.
# One uvicorn process per container (`python -m app`, app/__main__.py): scale with replicas.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /var/log/app && chown app:app /var/log/app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# code stays root-owned: the runtime user can read it, not change it
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production PORT=8000
# numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]
# the compose `migrate` service runs this image with: python -m migrations.apply (schema + roles)
CMD ["python", "-m", "app", "--host", "0.0.0.0"]
