# The two set-up commands are `make demo` and `make test`; both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA ?= data
DEMO_POPULATION ?= 20000
DEMO_MONTHS ?= 2024-01:2024-12
export HUB_DATA_DIR := $(abspath $(DATA))
export DAGSTER_HOME := $(HUB_DATA_DIR)/dagster
export HUB_EXPECTATIONS_DIR := $(abspath expectations)
# The synthetic region is dated 2024: the hub holds its months (the partitions), and retention is
# measured as if shortly after (docs/rights.md). A partnership leaves HUB_MONTHS unset (README).
export HUB_MONTHS ?= $(DEMO_MONTHS)
export HUB_RETENTION_AS_OF ?= 2025-01-31
# `hub generate` has finished writing the demo's supplies before anything reads them; a
# partnership leaves it unset, so a supply is read once it has been still for 120 s (README).
export HUB_QUIET_SECONDS ?= 0

export HUB_CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test test-fast dev lint bench clean browser docs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hub keys
	$(BIN)/hub generate --population $(DEMO_POPULATION) --months $(DEMO_MONTHS) --seed 42 \
		--out $(DATA)/landing --truth $(DATA)/truth --reference $(DATA)/reference --overwrite \
		--faulty 3
	rm -rf $(DATA)/warehouse $(DATA)/quarantine $(DATA)/models $(DATA)/review $(DATA)/dagster $(DATA)/reports
	$(BIN)/hub refresh --month $(DEMO_MONTHS)
	$(BIN)/hub conform
	$(BIN)/hub release
	$(BIN)/hub access demo
	@echo
	@echo "Where to look:"
	@echo "  $(DATA)/landing/<agency>/<feed>/<YYYY-MM>/  each month's supply and its supply.yml"
	@echo "  $(DATA)/warehouse/hub.duckdb                raw.<feed>, staging.stg_<agency>__<feed>, intermediate.*, spine.*, reference.gazetteer, ops.supply_register (encrypted: query it with $(BIN)/hub sql \"SELECT ...\")"
	@echo "  $(DATA)/models/person/                      the person model (Splink JSON, with its training record)"
	@echo "  $(DATA)/review/person_decisions.csv         where reviewers record decisions on spine.review_queue"
	@echo "  $(DATA)/review/place_decisions.csv          ... and on spine.place_review_queue"
	@echo "  $(DATA)/marts/current/level{1,2,3}.duckdb   the published tiers: tables, rows and how to open each are printed above"
	@echo "  $(DATA)/marts/releases/                     the releases kept, each with release.json (what it was built from): $(BIN)/hub release --list"
	@echo "  $(DATA)/quarantine/                         refused supplies, each with report.html"
	@echo "  $(DATA)/reference/gazetteer.csv             the gazetteer (AddressBase stand-in)"
	@echo "  $(DATA)/truth/                              ground truth, for evaluation only"
	@echo "  $(DATA)/access/policy.yml                   the demo's access policy: partner, analyst, practitioner, checker, admin, dpo, reviewer (the review page: http://127.0.0.1:8765/review)"
	@echo "  $(DATA)/audit/                              the audit trail of governed access: $(BIN)/hub audit verify"
	@echo "  $(DATA)/rights/                             data subjects' requests and subject access packs: $(BIN)/hub rights list (docs/rights.md)"
	@echo "  $(DATA)/reports/                            the strategic profile, data-quality scorecard and linkage report: open in a browser (docs/reports.md)"
	@echo "  make dev                                 the Dagster UI on http://localhost:3000 (for data engineers)"
	@echo
	@echo "Levels 2 and 3 are reached through the query service only (README, 'Analysts and practitioners'):"
	@echo "  $(BIN)/hub serve                              start it (or let hub query start it; hub serve --stop stops it)"
	@echo "  $(BIN)/hub query --user analyst --purpose problem_profile --project violence-2024 \\"
	@echo "      \"select district_name, count(*) as events from events group by 1 order by 2 desc\"     allowed"
	@echo "  $(BIN)/hub query --user partner --purpose performance \"select * from level2.events\"     refused, and audited"

# Two pytest processes at once, one a core: the tests on the session's linked region (built once,
# it is most of the suite's time) and the rest (tests/conftest.py, --hub-shard). Each has its own
# temporary folder and cache; dbt's manifest is parsed first, so they never both write it. Both
# logs are printed when both are done; either failing fails the target, and keeps the folders.
test: $(STAMP) browser
	$(BIN)/python -c 'from dagster_project.defs.conform.project import manifest; manifest()'
	@tmp=$$(mktemp -d); \
	$(BIN)/pytest --hub-shard=linked --basetemp=$$tmp/linked -o cache_dir=.pytest_cache/linked \
		>$$tmp/linked.log 2>&1 & linked=$$!; \
	$(BIN)/pytest --hub-shard=rest --basetemp=$$tmp/rest -o cache_dir=.pytest_cache/rest \
		>$$tmp/rest.log 2>&1 & rest=$$!; \
	wait $$linked; linked=$$?; wait $$rest; rest=$$?; \
	echo "== the linked shard =="; cat $$tmp/linked.log; \
	echo "== the rest =="; cat $$tmp/rest.log; \
	echo "make test: the linked shard exited $$linked, the rest $$rest"; \
	if test $$linked = 0 && test $$rest = 0; then rm -rf $$tmp; else echo "kept: $$tmp"; exit 1; fi

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
browser:
	@test -x $(HUB_CHROMIUM) || apt-get install -y -q chromium >/dev/null 2>&1 \
		|| (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) \
		|| echo "Chromium could not be installed with apt-get: the browser tests will be skipped"

# The inner loop: everything but the end-to-end tests, in under two minutes.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

dev: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster_project/dagster.yaml $(DAGSTER_HOME)/  # the hub's settings, edited in one place
	$(BIN)/dagster dev -w workspace.yaml -p 3000

lint: $(STAMP)
	$(BIN)/ruff check dagster_project tests
	$(BIN)/ruff format --check dagster_project tests
	cd dbt && ../$(BIN)/sqlfluff lint models
	$(BIN)/hub suites --check
	$(BIN)/hub dbt-files --check

bench: $(STAMP)
	$(BIN)/python -m dagster_project.dev.bench generate

# The catalogue, from the warehouse `make demo` built: $(DATA)/catalogue/index.html, offline.
docs: $(STAMP)
	$(BIN)/python -m dagster_project.codegen.catalogue --out $(DATA)/catalogue

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache
