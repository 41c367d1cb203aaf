"""Recording-rule names: none collides with kube-prometheus, all follow level:metric:operations.

Two rules writing the same series name from different expressions produce duplicate-sample
conflicts, so the project's rules must load beside kubernetes-mixin without sharing a name.
The kube-prometheus list is a copy kept in the repo (prometheus/kube-prometheus-recorded-names.txt).
"""

import re
import shutil
import subprocess

import pytest
import yaml

from tests import ROOT

PROMETHEUS_DIR = ROOT / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
# level:metric:operations; the level and operations are lower-case label/operation lists, the
# metric part keeps the source metric's name (DCGM names are upper-case).
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[A-Za-z][A-Za-z0-9_]*:[a-z][a-z0-9_]*$")


def recorded_names() -> list[str]:
    """Return every `record:` name in the project's rule files, in file order."""
    names = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names += [rule["record"] for rule in group["rules"] if "record" in rule]
    return names


def kube_prometheus_names() -> set[str]:
    lines = (PROMETHEUS_DIR / "kube-prometheus-recorded-names.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_rule_files_record_something():
    assert RULE_FILES and len(recorded_names()) >= 25


def test_no_recorded_name_is_also_recorded_by_kube_prometheus():
    clashes = set(recorded_names()) & kube_prometheus_names()
    assert not clashes, f"these names are recorded by kube-prometheus too: {sorted(clashes)}"


def test_every_recorded_name_follows_level_metric_operations():
    bad = [name for name in recorded_names() if not RECORD_NAME.match(name)]
    assert not bad, f"not level:metric:operations: {bad}"


def test_no_recorded_name_is_defined_twice():
    names = recorded_names()
    assert len(names) == len(set(names))


def test_no_rule_reads_another_rules_output():
    # The fixture backfills all recorded series in one `create-blocks-from rules` pass, in which a
    # rule reading another rule's output would see no data.
    names = set(recorded_names())
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_]*)+", rule["expr"]))
                assert not used & names, f"{rule.get('record')} reads {used & names}"


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    rules = [str(p) for p in RULE_FILES]
    tests = [str(p) for p in sorted((PROMETHEUS_DIR / "rules" / "tests").glob("*.yml"))]
    check = subprocess.run(["promtool", "check", "rules", *rules], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(["promtool", "test", "rules", *tests], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
