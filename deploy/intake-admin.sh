#!/usr/bin/env bash
# Run a service command (`witness-intake ARGS`, the same as `python -m bot ARGS`) on a
# systemd install, as the service's user with the service's settings. Installed as
# /usr/local/sbin/intake-admin; run it with sudo. See docs/deploy.md.
set -euo pipefail
exec systemd-run --quiet --pipe --wait --collect \
  --uid=witness-intake --gid=witness-intake \
  --working-directory=/opt/witness-intake \
  --property=EnvironmentFile=/etc/witness-intake/intake.env \
  --setenv=INTAKE_DATA_DIR=/var/lib/witness-intake \
  /opt/witness-intake/current/venv/bin/witness-intake "$@"
