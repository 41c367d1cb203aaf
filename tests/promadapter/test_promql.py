"""PromQL selectors: Kubernetes name grammar, and escaping no request value can break out of."""

import pytest

from promadapter.catalog import BY_NAME, METRICS, SCOPE_FILTERS
from promadapter.promql import (
    LabelValueError,
    Regex,
    check_label_value,
    cluster_matchers,
    filters_selector,
    quote,
    regex_escape,
    selector,
)

HOSTILE = [
    '"} or vector(1)',
    'a"b',
    "a}b",
    "a\nb",
    "a\\",
    "x{y}",
    "ünïcode",
    "UPPER",
    "-leading",
    "trailing-",
    "a" * 64,
    "",
    "a b",
    "a\x00b",
    "a\u2028b",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_namespace_values_are_rejected(value):
    with pytest.raises(LabelValueError):
        check_label_value("namespace", value)


@pytest.mark.parametrize("value", ["ml", "kube-system", "a", "a" * 63, "0x"])
def test_dns1123_labels_are_accepted_as_namespaces(value):
    assert check_label_value("namespace", value) == value


def test_pod_and_node_names_may_be_dotted_subdomains_of_up_to_253_characters():
    assert check_label_value("node", "ip-10-0-0-1.ec2.internal")
    assert check_label_value("pod", "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61)
    with pytest.raises(LabelValueError):
        check_label_value("pod", ("a" * 63 + ".") * 4 + "b")
    with pytest.raises(LabelValueError):
        check_label_value("namespace", "a.b")


def test_an_unknown_label_cannot_be_filtered_on():
    with pytest.raises(LabelValueError):
        check_label_value("__name__", "up")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('"} or vector(1)', '"\\"} or vector(1)"'),
        ("a\\b", '"a\\\\b"'),
        ("a\nb\tc\rd", '"a\\nb\\tc\\rd"'),
        ("a\x00b", '"a\\x00b"'),
        ("ünï", '"ünï"'),
    ],
)
def test_quote_escapes_everything_that_ends_or_bends_a_promql_string(value, literal):
    assert quote(value) == literal


def test_a_selector_keeps_fixed_matchers_and_adds_checked_filters():
    expr = filters_selector("m:x:y", {"resource": "cpu"}, {"namespace": "ml", "pod": "p-1"})
    assert expr == 'm:x:y{resource="cpu", namespace="ml", pod="p-1"}'


def test_a_selector_with_a_hostile_filter_is_refused_before_any_promql_is_built():
    with pytest.raises(LabelValueError):
        filters_selector("m:x:y", {}, {"pod": '"} or vector(1) or {a="'})


def test_the_catalog_has_the_37_seed_metrics_with_valid_templates():
    assert len(METRICS) == 37 == len(BY_NAME)
    for metric in METRICS:
        assert metric.scope in SCOPE_FILTERS
        assert metric.template.startswith(metric.record + "{")
        assert metric.description and metric.unit


def test_the_catalog_reads_only_series_that_the_rules_record():
    from tests.deploy.test_rules_names import recorded_names

    assert {m.record for m in METRICS} <= set(recorded_names())


def test_regex_escape_makes_every_metacharacter_literal():
    assert regex_escape("a.b|c*") == r"a\.b\|c\*"
    assert regex_escape("(d)[e]{f}^$+?\\") == r"\(d\)\[e\]\{f\}\^\$\+\?\\"
    assert regex_escape("docker-lab") == "docker-lab"


def test_another_cluster_is_an_equality_matcher():
    expr = filters_selector("m:x:y", {}, {"pod": "p"}, "docker-lab", "default")
    assert expr == 'm:x:y{pod="p", cluster="docker-lab"}'


def test_the_home_cluster_also_matches_series_without_a_cluster_label():
    expr = filters_selector("m:x:y", {}, {}, "eu.prod", "eu.prod")
    # The regex |eu\.prod, its backslash escaped again inside the PromQL string.
    assert expr == r'm:x:y{cluster=~"|eu\\.prod"}'


def test_without_a_cluster_no_cluster_matcher_is_added():
    assert cluster_matchers(None, "default") == {}
    assert filters_selector("m:x:y", {}, {}) == "m:x:y{}"


@pytest.mark.parametrize("value", [*HOSTILE[:9], "a" * 254, "lab.", ".lab", "a|b", "a.*"])
def test_hostile_cluster_names_are_rejected(value):
    with pytest.raises(LabelValueError):
        cluster_matchers(value, "default")


def test_cluster_names_may_be_up_to_253_characters_with_dots():
    name = "a" * 249 + ".b.c"
    assert len(name) == 253 and cluster_matchers(name, "x") == {"cluster": name}


def test_a_regex_matcher_is_written_with_its_pattern_quoted():
    assert selector("m", {"a": Regex('x"|y')}) == 'm{a=~"x\\"|y"}'
