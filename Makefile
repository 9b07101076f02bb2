# Two commands do everything on a fresh Debian machine with Python 3.11:
#   make run   – the product on its embedded default at http://127.0.0.1:$(PORT)
#   (make dev: the same on Django's development server)
#   make test  – the whole suite against PostgreSQL, Redis and an S3 server on loopback
SHELL := /bin/bash
PORT ?= 8000
DEMO ?= true
# Every target sees the same PORT: links in e-mails (SITE_URL, config/settings.py) name the
# port the pages are served on, also when the notifier sends them.
export PORT
PY := .venv/bin/python
UV := .tools/bin/uv
UV_VERSION := 0.13.9

.PHONY: setup run dev worker notifier test bench lint fmt migrate system-packages check

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install -q "uv==$(UV_VERSION)"

# The libraries are compiled to bytecode once, here: a machine that sets
# PYTHONDONTWRITEBYTECODE would otherwise compile Django and the rest again in every process
# the product or the tests start (about 1.7 s of CPU each).
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

setup: .venv/.synced

migrate: setup
	$(PY) manage.py migrate --noinput

# The embedded default on uvicorn (scripts/serve.sh: HTTP and WebSocket, static files,
# DEBUG off unless DEBUG=true); it sweeps deadlines in a thread of its own process
# (deadlines/runner.py).
# DEMO=false: an empty installation, as a province starts its own (README "Start from empty").
run: migrate
	if [ "$(DEMO)" != false ]; then $(PY) manage.py seed_demo; fi
	PORT=$(PORT) bash scripts/serve.sh

# Django's development server instead: reloads on code changes, DEBUG on.
dev: migrate
	if [ "$(DEMO)" != false ]; then $(PY) manage.py seed_demo; fi
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The deadline sweep on its own (production-style worker; several may run at once).
worker: migrate
	$(PY) manage.py sweep_deadlines --loop
# The notification delivery worker (retries pushes and e-mails); next to `make run` it sends
# e-mail only, since the in-memory channel layer reaches only the web process's pages.
notifier: migrate
	$(PY) manage.py deliver_notifications --loop

system-packages:
	bash scripts/ensure-system-packages.sh

check: setup
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache
	.venv/bin/mypy
	.venv/bin/vulture
	docker-compose --env-file .env.example -f docker-compose.yml config -q

# axe-core, pinned in package-lock.json, which the browser tests inject into every page.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The suite runs in TEST_WORKERS parallel processes, each with its own PostgreSQL and Redis
# (tests/workers.py); TEST_WORKERS=0 runs it in this one process (docs/testing.md).
TEST_WORKERS ?= 3
# PYTHONDONTWRITEBYTECODE is cleared for the run: the workers and the servers the tests
# start then share the compiled project modules and pytest's rewritten test modules instead of
# compiling them again, each of them (the files go to __pycache__, which git ignores).
test: setup system-packages node_modules/.installed check
	PYTHONDONTWRITEBYTECODE= bash scripts/with-services.sh .venv/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: setup system-packages
	PG_DURABLE=1 bash scripts/with-services.sh bash -c 'for f in bench/*.py; do echo "== $$f"; $(PY) "$$f" || exit 1; done'

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/vulture

fmt: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

