#!/usr/bin/env bash
# The one way the service is installed and started. The Dockerfile runs these steps, the
# systemd unit in docs/deploy.md runs them, and CI (tests/test_deploy.py) runs them from a
# clean copy of the source, so what is deployed is what is tested.
#
#   deploy/service.sh install VENV [SOURCE]
#       create a virtual environment at VENV and install the service from SOURCE (default:
#       the directory above this script) into it: not editable, no development extras.
#   deploy/service.sh start [VENV]
#       migrate the database, then serve on ${HOST:-0.0.0.0}:${PORT:-8080}, with the data
#       directory at ${INTAKE_DATA_DIR:-/var/lib/witness-intake}. VENV defaults to
#       /opt/witness-intake/venv.
#
# PYTHON names the interpreter the virtual environment is made from (default: python3).
set -euo pipefail

DEFAULT_VENV=/opt/witness-intake/venv
DEFAULT_DATA_DIR=/var/lib/witness-intake

usage() {
  echo "usage: $0 install VENV [SOURCE] | start [VENV]" >&2
  exit 2
}

install_service() {
  local venv=$1
  local source=${2:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
  "${PYTHON:-python3}" -m venv "$venv"
  # No cache: an image layer should hold the installed service, not pip's downloads.
  "$venv/bin/python" -m pip install --quiet --no-cache-dir --disable-pip-version-check "$source"
  "$venv/bin/python" -c 'from importlib.metadata import version; import bot.cli
print("installed witness-intake", version("witness-intake"))'
}

start_service() {
  local venv=${1:-$DEFAULT_VENV}
  export INTAKE_DATA_DIR="${INTAKE_DATA_DIR:-$DEFAULT_DATA_DIR}"
  # exec: the service itself receives the container's or systemd's stop signal.
  exec "$venv/bin/python" -m bot serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8080}"
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  install)
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
    install_service "$@"
    ;;
  start)
    if [ $# -gt 1 ]; then usage; fi
    start_service "$@"
    ;;
  *)
    usage
    ;;
esac
