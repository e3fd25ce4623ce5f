# The witness-intake service. Installed and started by deploy/service.sh, the same script
# CI runs from a clean copy of the source (tests/test_deploy.py).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/witness-intake/venv/bin:$PATH \
    INTAKE_DATA_DIR=/var/lib/witness-intake \
    PORT=8080

COPY . /opt/witness-intake/src
RUN /opt/witness-intake/src/deploy/service.sh install /opt/witness-intake/venv /opt/witness-intake/src \
    && rm -rf /opt/witness-intake/src/build /opt/witness-intake/src/*.egg-info

# The service runs unprivileged; only its data directory is writable to it.
RUN groupadd --system --gid 10001 intake \
    && useradd --system --uid 10001 --gid intake --home-dir /var/lib/witness-intake \
        --no-create-home --shell /usr/sbin/nologin intake \
    && install -d -o intake -g intake -m 0700 /var/lib/witness-intake
USER intake
# Not the data directory: the service reads a .env file from its working directory.
WORKDIR /opt/witness-intake
VOLUME ["/var/lib/witness-intake"]
EXPOSE 8080

# No curl in the slim image: ask /readyz with Python. A 503 raises, so the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8080'), timeout=4)"]

CMD ["/opt/witness-intake/src/deploy/service.sh", "start", "/opt/witness-intake/venv"]
