#!/usr/bin/env bash
# The embedded default's web server (`make run`): uvicorn, serving HTTP and WebSocket on
# this machine, with DEBUG off unless asked for (DEBUG=true make run).
#
# One process: the in-memory channel layer reaches only the pages of its own process, and
# the deadline sweep runs in a thread of it. uvicorn hands request bodies to the application
# as they arrive (Django spools uploads to disk), so a large upload does not sit in memory.
# Plain HTTP on loopback: no HTTPS redirect or secure-only cookies; behind a TLS proxy set
# SECURE_SSL_REDIRECT, SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE to true.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-false}"
export LOG_FORMAT="${LOG_FORMAT:-text}"  # read on a console (production: JSON lines)
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-false}"
export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-false}"
export CSRF_COOKIE_SECURE="${CSRF_COOKIE_SECURE:-false}"
export SECURE_HSTS_SECONDS="${SECURE_HSTS_SECONDS:-0}"
.venv/bin/python manage.py collectstatic --noinput --verbosity 0
exec .venv/bin/uvicorn config.asgi:application --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" \
  --workers 1 --log-level "${UVICORN_LOG_LEVEL:-info}" "$@"
