# The kube-monitoring image: gunicorn serving kubemon.wsgi, and manage.py for the CronJobs
# (deploy/). Build: docker build -t kube-monitoring .   (docs/deploy.md)
# It runs as an unprivileged user on a read-only root filesystem: nothing is written at run
# time but /tmp (an emptyDir) and the exports volume.

# Chart.js, pinned in package-lock.json, for collectstatic.
FROM node:22-bookworm-slim AS chartjs
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The virtualenv, the compiled translations and the collected static files.
FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# msgfmt, for compilemessages; not needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /venv
COPY requirements.txt /app/
RUN /venv/bin/pip install -r /app/requirements.txt
WORKDIR /app
COPY manage.py ./
COPY kubemon kubemon
COPY promadapter promadapter
COPY billing billing
COPY web web
COPY --from=chartjs /build/node_modules/chart.js/dist node_modules/chart.js/dist
RUN /venv/bin/python manage.py compilemessages -v 0
RUN /venv/bin/python manage.py collectstatic --noinput -v 0
# Bytecode now: the root filesystem is read-only at run time.
RUN /venv/bin/python -m compileall -q kubemon promadapter billing web /venv

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN groupadd --system --gid 10001 kubemon \
    && useradd --system --uid 10001 --gid kubemon --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin kubemon
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Workers: WEB_CONCURRENCY (gunicorn reads it); heartbeat files in /tmp, the only writable place.
# Behind the Ingress: X-Forwarded-Proto tells gunicorn the request was HTTPS (CSRF checks).
CMD ["gunicorn", "kubemon.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/tmp", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
