# The README's commands. `make run` serves the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Reverse proxies in front of `make run` (addresses or networks); settings read it too.
FORWARDED_ALLOW_IPS ?=

.PHONY: run test test-unit test-e2e lint bench install install-test browser janus migrate worker beat clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py load_demo
	FORWARDED_ALLOW_IPS="$(FORWARDED_ALLOW_IPS)" $(VENV)/bin/uvicorn conferencing.asgi:application \
		--host $(HOST) --port $(PORT) --ws websockets \
		--proxy-headers --forwarded-allow-ips "$(FORWARDED_ALLOW_IPS)"

worker: install
	$(VENV)/bin/celery -A conferencing worker --loglevel INFO

beat: install
	$(VENV)/bin/celery -A conferencing beat --loglevel INFO

browser:
	scripts/install-chromium.sh

# Debian's Janus for tests/janus/ (each test session starts its own on free ports).
janus:
	scripts/install-janus.sh

# Browser tests run in their own pytest process: a live server sharing a process with
# earlier websocket tests broke its handshake.
test: install-test browser janus
	$(PY) -m pytest -q --ignore=tests/e2e
	$(PY) -m pytest -q tests/e2e

lint: install-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

bench: install-test
	$(PY) -m bench

clean:
	rm -rf $(VENV) var staticfiles
