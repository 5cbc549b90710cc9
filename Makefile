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
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v 0

run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py webhook_urls
	$(VENV)/bin/daphne -b 127.0.0.1 -p $(PORT) voicebot.asgi:application

test: install
	$(PY) -m pytest

bench: migrate
	$(PY) manage.py bench

clean:
	rm -rf $(VENV) var
