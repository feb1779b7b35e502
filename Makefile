# The two set-up commands are `make demo` and `make test`; both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA ?= data
DEMO_POPULATION ?= 20000
DEMO_MONTHS ?= 2024-01:2024-12
export HUB_DATA_DIR := $(abspath $(DATA))

.PHONY: demo test dev lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hub generate --population $(DEMO_POPULATION) --months $(DEMO_MONTHS) --seed 42 \
		--out $(DATA)/landing --truth $(DATA)/truth --reference $(DATA)/reference --overwrite
	@echo
	@echo "Where to look:"
	@echo "  $(DATA)/landing/<agency>/<feed>/<YYYY-MM>/  each month's supply and its supply.yml"
	@echo "  $(DATA)/reference/gazetteer.csv             the gazetteer (AddressBase stand-in)"
	@echo "  $(DATA)/truth/                              ground truth, for evaluation only"
	@echo "  make dev                                 the Dagster UI on http://localhost:3000"

test: $(STAMP)
	$(BIN)/pytest

dev: $(STAMP)
	@mkdir -p .dagster_home
	DAGSTER_HOME=$(abspath .dagster_home) $(BIN)/dagster dev -w workspace.yaml -p 3000

lint: $(STAMP)
	$(BIN)/ruff check dagster_project tests
	$(BIN)/ruff format --check dagster_project tests

bench: $(STAMP)
	$(BIN)/python -m dagster_project.bench generate

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache
