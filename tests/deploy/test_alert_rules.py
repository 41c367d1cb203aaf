"""The alert rules (prometheus/rules/alerts.yml): named, labelled, documented, and each one
tested by promtool both firing and quiet (prometheus/rules/tests/alerts_test.yml)."""

import yaml

from billing.collection.health import families
from billing.ledger import budget_metrics
from promadapter.instrumentation import REQUEST_DURATION, REQUESTS
from tests import ROOT

RULES_DIR = ROOT / "prometheus" / "rules"
DOCS = ROOT / "docs" / "operations.md"


def alerts() -> list[dict]:
    groups = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool_cases() -> list[dict]:
    tests = yaml.safe_load((RULES_DIR / "tests" / "alerts_test.yml").read_text())["tests"]
    return [case for test in tests for case in test["alert_rule_test"]]


def test_every_alert_is_prefixed_has_a_severity_and_says_what_to_do():
    assert len(alerts()) == 7
    for rule in alerts():
        assert rule["alert"].startswith("Kubemon"), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 100


def test_every_alert_is_tested_firing_and_quiet():
    for rule in alerts():
        cases = [c for c in promtool_cases() if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in cases), f"{rule['alert']} never tested firing"
        assert any(not c["exp_alerts"] for c in cases), f"{rule['alert']} never tested quiet"


def test_every_alert_and_metric_is_documented():
    docs = DOCS.read_text()
    for rule in alerts():
        assert f"`{rule['alert']}`" in docs, rule["alert"]
    metrics = [
        *families().values(),
        *budget_metrics.families().values(),
        *REQUESTS.describe(),
        *REQUEST_DURATION.describe(),
    ]
    for family in metrics:
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}`" in docs, name
