# The two commands: `make run` and `make test`. Both bootstrap whatever is missing first.
.PHONY: run test bootstrap lint bench-identity

DATA_DIR ?=
LISTEN ?= 127.0.0.1:5000
PYTEST_ARGS ?=

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	.venv/bin/andromede image build-tiny
	.venv/bin/andromede up --listen $(LISTEN) $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

test: lint
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Style, then the layers (contracts in pyproject.toml), then the types.
lint: bootstrap
	.venv/bin/ruff check src tests bench
	.venv/bin/lint-imports
	.venv/bin/mypy src

bench-identity: bootstrap
	.venv/bin/python bench/identity.py
