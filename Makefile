# fivs: `make run` serves the app with the pilot sites and demo users; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install install-dev translations messages secret-key db-upgrade seed bench clean chromium redis-server java vnu

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

# Compiled catalogues (.mo) are build output, made from the reviewed .po files.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d fivs/translations > /dev/null

# After changing messages in the code: extract them and merge them into the reviewed catalogue
# (new msgids arrive with an empty msgstr: translate them in messages.po, then `make translations`).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_plural:1,2 --no-location --sort-output -w 100 \
	  -o fivs/translations/messages.pot fivs
	$(BIN)/pybabel update -i fivs/translations/messages.pot -d fivs/translations -l vi \
	  --no-fuzzy-matching --ignore-obsolete -w 100

instance/secret_key:
	mkdir -p instance
	umask 077; $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@

secret-key: instance/secret_key

db-upgrade: install secret-key
	$(FLASK) db upgrade

seed: db-upgrade
	$(FLASK) seed --demo

run: seed
	@echo "fivs on http://127.0.0.1:$(PORT)  (demo logins: see README)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The browser tests (tests/browser, marker `browser`) drive Debian's Chromium; as root it is installed when missing.
chromium:
	@command -v chromium > /dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || { echo "chromium is missing: apt-get install -y chromium" >&2; exit 1; }

# tests/test_ratelimit_redis.py starts Debian's redis-server on a free port; as root it is installed when missing.
redis-server:
	@command -v redis-server > /dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } \
	  || { echo "redis-server is missing: apt-get install -y redis-server" >&2; exit 1; }

# The page checkers (tests/browser/test_page_checkers.py) run the Nu Html Checker: vnu.jar from npm, pinned in
# package.json and package-lock.json, installed into node_modules/ (its install script, a Java download, is not
# run: the machine's Java runs the jar).
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

vnu: node_modules/.installed java

java:
	@command -v java > /dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; } \
	  || { echo "java is missing: apt-get install -y default-jre-headless" >&2; exit 1; }

# Two workers: the tests are CPU-bound and the machines have two cores (each worker gets its own databases).
test: install-dev chromium redis-server vnu
	$(BIN)/python -m pytest -q -n 2

bench: install-dev
	$(BIN)/python bench/photo_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache node_modules
