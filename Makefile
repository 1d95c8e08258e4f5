# The README's two commands: `make demo` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8866
NBVAL_DATA := $(CURDIR)/build/nbval-data
AXE := node_modules/axe-core/axe.min.js

.PHONY: demo test test-slow lint install browser clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,lab]"
	$(BIN)/pybabel compile -D conferencing -d conferencing_widgets/locale
	touch $(STAMP)

install: $(STAMP)

# Seeds a demo store, prints signed links for a demo customer and technician, serves Voila on 127.0.0.1.
demo: $(STAMP)
	CONFERENCING_DATA_DIR=$${CONFERENCING_DATA_DIR:-data} $(BIN)/conferencing demo --port $(PORT)

# Every test but those marked slow (about 25 min on 2 cores): unit, store contract on SQLite and PostgreSQL,
# real-browser (Voila + Chromium), notebooks. `make test-slow` runs the slow ones; CI (.ci/run) runs both.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider --durations=15
test: $(STAMP) browser $(AXE) lint
	# Two runs: Playwright's sync API leaves an event loop running in the main thread, which breaks asyncio.run.
	$(PYTEST) -m "not slow" tests --ignore=tests/browser
	$(PYTEST) -m "not slow" tests/browser
	# The notebooks run top to bottom on a fresh demo store, as after `make demo`.
	rm -rf $(NBVAL_DATA) && CONFERENCING_DATA_DIR=$(NBVAL_DATA) $(BIN)/conferencing demo --no-serve >/dev/null
	CONFERENCING_DATA_DIR=$(NBVAL_DATA) $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

# The slow tests: concurrency and fault injection, the browser suite's PostgreSQL runs, kernel lifecycles.
test-slow: $(STAMP) browser $(AXE)
	$(PYTEST) -m slow tests --ignore=tests/browser
	$(PYTEST) -m slow tests/browser

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@{ test -x /usr/bin/chromium && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	  else echo "Chromium or its emoji font missing: run 'sudo apt-get install -y chromium fonts-noto-color-emoji'"; fi; }

# axe-core for the accessibility tests (package.json / package-lock.json pin it).
$(AXE): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(AXE)

# ruff, the import-linter layer contracts (pyproject: [tool.importlinter]) and mypy over the whole package.
lint: $(STAMP)
	$(BIN)/ruff check conferencing_widgets tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy conferencing_widgets

# Collect the translatable strings into the .pot and merge them into every language's .po (then translate).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k ngettext:1,2 -k pgettext:1c,2 -k tr --no-location --sort-output \
	  --project conferencing_widgets -o conferencing_widgets/locale/conferencing.pot .
	$(BIN)/pybabel update -D conferencing -i conferencing_widgets/locale/conferencing.pot -d conferencing_widgets/locale
	$(BIN)/pybabel compile -D conferencing -d conferencing_widgets/locale
	# The notebooks' translated copies (notebooks/pl/) follow the English notebooks and the catalogues.
	$(BIN)/python -m conferencing_widgets.core.notebook_text notebooks

clean:
	rm -rf $(VENV) data .pytest_cache
