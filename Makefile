# The two commands of the README: `make demo` and `make test`. Both work on a fresh Debian
# machine with nothing but Python: they create the virtualenv, install the requirements,
# install Debian's packages when missing (prometheus + promtool; chromium for the browser tests;
# gettext for the French translations; npm for Chart.js), and Chart.js from the npm registry.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test lint rules-test prometheus debian-packages messages venv clean bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Each command, and the Debian package that brings it.
DEBIAN_COMMANDS := prometheus:prometheus promtool:prometheus chromium:chromium msgfmt:gettext npm:npm

debian-packages:
	@missing=""; for pair in $(DEBIAN_COMMANDS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends $$missing; \
	else \
		echo "needed: sudo apt-get install$$missing" >&2; \
		exit 1; \
	fi

prometheus: debian-packages

# Chart.js, pinned in package.json and package-lock.json, served from static files.
node_modules/.installed: package.json package-lock.json | debian-packages
	npm ci --no-audit --no-fund --silent
	touch $@

# The French translations, compiled from web/locale/fr/LC_MESSAGES/django.po.
messages: venv debian-packages
	cd web && ../$(PY) ../manage.py compilemessages --ignore=.venv -v 0

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

rules-test: prometheus
	promtool check rules prometheus/rules/*.yml
	promtool test rules prometheus/rules/tests/*.yml

test: venv debian-packages node_modules/.installed messages lint rules-test
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# Collection at cluster scale (docs/benchmarks.md); not part of `make test`. The simulated
# days are backfilled once into ~/.cache/kubemon-bench. BENCH_ARGS, e.g. --sizes small.
bench: venv debian-packages
	nice -n 5 $(PY) bench/collect.py $(BENCH_ARGS)

demo: venv debian-packages node_modules/.installed messages
	$(PY) -m simulator.demo

clean:
	rm -rf $(VENV) kubemon.sqlite3 var node_modules test-output
