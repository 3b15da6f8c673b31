# Smilepost — `make demo` runs it, `make test` tests it. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

WHEELHOUSE ?= build/wheelhouse
# Tests start many Python processes (xdist workers, uvicorn servers, kiosk windows): let them keep compiled
# bytecode in __pycache__ (ignored by git) instead of recompiling the project in each, even where the
# environment turns bytecode off.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: install demo test check test-installs wheelhouse bench lint i18n clean

$(BIN)/smilepost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/smilepost  ## create .venv with Smilepost and its test/dev tools

demo: install  ## server + SQLite + a year of demo data + a live kiosk window (offscreen without a display)
	$(BIN)/smilepost demo --port $(PORT)

test: install  ## the whole test suite (real SQLite, PostgreSQL, uvicorn on 127.0.0.1, Chromium, Kivy offscreen)
	$(BIN)/python -m pytest -n auto --dist loadfile

check: install  ## the fast tier (under a minute): lint, then the tests on SQLite that start no server, browser or window (not the slow-marked ones)
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "not kivy and not postgresql and not slow" tests/shared tests/kiosk tests/server

wheelhouse: install  ## Smilepost's wheel and every wheel its kiosk and server extras need (this step downloads)
	rm -rf $(WHEELHOUSE)
	$(BIN)/pip wheel --quiet --wheel-dir $(WHEELHOUSE) ".[kiosk,server]"

test-installs: wheelhouse  ## fresh kiosk, server and core-only venvs from the wheelhouse (the test downloads nothing)
	SMILEPOST_TEST_WHEELHOUSE=$(abspath $(WHEELHOUSE)) $(BIN)/python -m pytest -m installs tests/e2e/test_installs.py

bench: install  ## benchmarks (dashboard, fleet, ingest, drain, kiosk, …) with ratios against same-run baselines; QUICK=1: under 2 min
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

LOCALES := server/web/locale
i18n: install  ## re-extract the dashboard's messages and update the nb and de catalogues (then translate the new ones)
	$(BIN)/pybabel extract -F server/web/babel.cfg -k N_ -k gettext_format --no-location --sort-output \
		--project Smilepost --copyright-holder "Smilepost" -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --width 120 --ignore-obsolete

lint: install  ## ruff and strict mypy on the packages
	$(BIN)/ruff check kiosk server shared tests benchmarks
	$(BIN)/ruff format --check kiosk server shared tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data test-output build .pytest_cache .mypy_cache .ruff_cache *.egg-info
