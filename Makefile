# The two commands of the README: `make demo` and `make test`. Both work on a fresh Debian
# machine with nothing but Python: they create the virtualenv, install the requirements,
# and install Debian's prometheus package (prometheus + promtool) when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test lint rules-test prometheus venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

prometheus:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's prometheus package (prometheus, promtool)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends prometheus; \
	else \
		echo "prometheus and promtool are needed: run 'sudo apt-get install prometheus'" >&2; \
		exit 1; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

rules-test: prometheus
	promtool check rules prometheus/rules/*.yml
	promtool test rules prometheus/rules/tests/*.yml

test: venv prometheus lint rules-test
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

demo: venv prometheus
	$(PY) -m simulator.demo

clean:
	rm -rf $(VENV) kubemon.sqlite3 var
