# The EOI portal. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
LOCALES := en fr ar fa ps ckb ku ti am vi so

.PHONY: help run test lint format assets translations translations-extract translations-update install

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

run: install assets translations ## Install, build, migrate SQLite, load demo data and serve on HOST:PORT
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install assets translations lint ## Lint, then the whole test suite on SQLite and on PostgreSQL
	PORTAL_TEST_DATABASE_URL= $(BIN)/pytest
	PORTAL_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

assets: static/dist/manifest.json ## Build GOV.UK Frontend and the portal's CSS/JS into static/dist

static/dist/manifest.json: node_modules/.installed static/build.mjs $(wildcard static/src/*)
	npm run --silent build

translations: install ## Compile the gettext catalogs
	$(BIN)/pybabel compile -d translations

translations-extract: install ## Extract every translatable string into translations/messages.pot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o translations/messages.pot portal templates

translations-update: translations-extract ## Merge new strings into every catalog (needs GNU gettext's msginit)
	mkdir -p translations/en/LC_MESSAGES
	msginit --no-translator --no-wrap --locale=en -i translations/messages.pot -o translations/en/LC_MESSAGES/messages.po
	for locale in $(filter-out en,$(LOCALES)); do \
		if [ -f translations/$$locale/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i translations/messages.pot -d translations -l $$locale --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(BIN)/pybabel init -i translations/messages.pot -d translations -l $$locale; \
		fi; \
	done
