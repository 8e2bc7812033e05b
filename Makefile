# The two set-up commands of the README are `make demo` and `make test`;
# both create .venv on first use, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo-data
# `make demo PORT=5001` when 5000 is taken.
PORT ?= 5000
DEMO_MESSAGES ?= 3000
SOURCES := core analysis index search backends web govmail sample tests bench wsgi.py

.PHONY: install test test-slow lint fmt demo bench clean axe

# axe-core (npm) for the browser tests' accessibility check, kept outside the repository.
AXE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/govmail/npm
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

$(BIN)/govmail: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/govmail

install: $(BIN)/govmail

lint: install
	$(BIN)/ruff check $(SOURCES)

fmt: install
	$(BIN)/ruff format $(SOURCES)

$(AXE):
	@command -v npm >/dev/null || { echo "no npm: the axe-core checks of the browser tests will skip (Debian: apt-get install npm)"; exit 0; }
	@command -v npm >/dev/null || exit 0; \
	  npm install --silent --no-audit --no-fund --prefix $(AXE_DIR) axe-core@4 && test -f $(AXE)

axe: $(AXE)

# The default suite stays under 15 minutes on 2 cores; the real-process tests that take
# tens of seconds each (kills, full disks, node loss, load, 20k-message corpora) carry
# the `slow` marker and run by `make test-slow`, which CI runs as well.
test: install lint axe
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install axe
	$(BIN)/python -m pytest -q -m slow

demo: install
	$(BIN)/govmail sample $(DEMO_DIR)/archive --messages $(DEMO_MESSAGES) --seed 1
	GOVMAIL_INDEX=$(DEMO_DIR)/index $(BIN)/govmail index $(DEMO_DIR)/archive
	GOVMAIL_INDEX=$(DEMO_DIR)/index $(BIN)/govmail serve --host 127.0.0.1 --port $(PORT)

bench: bench-install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info

bench-install: install
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
