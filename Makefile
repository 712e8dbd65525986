# The two commands (README): `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser postgres run test test-unit docs kafka keycloak bench bench-scheduling bench-reads clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip==26.3"
	$(BIN)/pip install -q -c requirements.lock -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/python -c "from deploy.kafka_runner import assemble; assemble()"
	$(BIN)/python -c "from deploy.keycloak_runner import assemble; assemble()"

# Debian's Chromium for the dashboard's browser test (driven by Playwright, never `playwright install`)
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Debian's PostgreSQL server for the stores of the PostgreSQL fault scenario and tests; its programs are
# under /usr/lib/postgresql/<version>/bin, not on PATH (deploy/postgres_runner.py starts its own server)
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		(apt-get update -q && apt-get install -y -q postgresql)

## Start Kafka, Keycloak, Prefect, the flow server and the four services; drive a demo cohort (Ctrl-C stops)
run: install
	$(BIN)/python -m deploy run

## Install, check the published contracts, lint (ruff) and type-check (mypy), start Kafka + Prefect + services, run every test, stop them
test: install browser postgres
	$(BIN)/python -m services.contracts.published_docs --check
	$(BIN)/ruff check services workflows deploy tests bench
	$(BIN)/mypy services workflows deploy
	$(BIN)/python -m pytest -ra --durations=20 tests

test-unit: install
	$(BIN)/python -m pytest -ra tests/unit

## Regenerate docs/events (JSON Schema per event, AsyncAPI 3) from the models
docs: install
	$(BIN)/python -m services.contracts.published_docs

## Place one week for 1,000 participants; prints time and share of required hours placed (not in `make test`)
bench-scheduling: install
	$(BIN)/python -m services.scheduling.bench

## The end-to-end benchmark: N participants (default 10000) on the whole stack; prints and writes data/bench/
N ?= 10000
bench: install
	$(BIN)/python -m bench e2e --participants $(N)

## Reads while writers queue on one store (issue 13's stall, reproduced); prints read latency
bench-reads: install
	$(BIN)/python bench/read_stall.py

kafka: install
	$(BIN)/python -m deploy kafka

## Only Keycloak, the identity provider (realm continuum, demo users in data/identity/demo-users.json)
keycloak: install
	$(BIN)/python -m deploy keycloak

clean:
	rm -rf data .pytest_cache
