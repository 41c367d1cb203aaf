"""PromQL selectors built from request values, safely.

Every value that comes from a request is first checked against the Kubernetes name grammar of its
label (DNS-1123 label or subdomain), then escaped as a PromQL string literal anyway, so nothing a
client sends can change the shape of a query (quotes, braces, `"} or vector(1)`, newlines...).
A value placed inside a regex matcher (the home cluster's `cluster=~"|name"`) has its regex
metacharacters escaped first, then the whole pattern is escaped as a string literal.
"""

import re
from dataclasses import dataclass

# DNS-1123 label: namespaces, container names (at most 63 characters).
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# DNS-1123 subdomain: pod and node names (at most 253 characters, dot-separated labels).
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SUBDOMAIN_MAX = 253
# Cluster names: a Prometheus label value chosen by the operator (external_labels, Thanos), so
# dots are allowed anywhere inside, as in "eu-west.prod"; at most 253 characters.
CLUSTER_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
CLUSTER_MAX = 253
# RE2 metacharacters outside a character class; a backslash before any of them makes it literal.
REGEX_META = frozenset("\\.+*?()|[]{}^$")

# The grammar of each label a request may filter on.
LABEL_GRAMMAR = {
    "namespace": "label",
    "container": "label",
    "pod": "subdomain",
    "node": "subdomain",
    "cluster": "cluster",
}


class LabelValueError(ValueError):
    """A request value that is not a valid Kubernetes name for its label."""

    def __init__(self, label: str, reason: str):
        super().__init__(f"{label}: {reason}")
        self.label = label
        self.reason = reason


def check_label_value(label: str, value: str) -> str:
    """Return value if it is a valid Kubernetes name for label, else raise LabelValueError."""
    grammar = LABEL_GRAMMAR.get(label)
    if grammar is None:
        raise LabelValueError(label, "is not a label that can be filtered on")
    if grammar == "label" and not DNS1123_LABEL.fullmatch(value):
        raise LabelValueError(
            label,
            "must be a DNS-1123 label: at most 63 lower-case letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
    if grammar == "subdomain" and (
        len(value) > SUBDOMAIN_MAX or not DNS1123_SUBDOMAIN.fullmatch(value)
    ):
        raise LabelValueError(
            label,
            "must be a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' or '.', "
            "starting and ending with a letter or digit",
        )
    if grammar == "cluster" and (len(value) > CLUSTER_MAX or not CLUSTER_NAME.fullmatch(value)):
        raise LabelValueError(
            label,
            "must be a cluster name: at most 253 lower-case letters, digits, '-' or '.', "
            "starting and ending with a letter or digit",
        )
    return value


def regex_escape(value: str) -> str:
    """Return value as a regex that matches exactly value (RE2 syntax, as Prometheus uses)."""
    return "".join("\\" + ch if ch in REGEX_META else ch for ch in value)


@dataclass(frozen=True)
class Regex:
    """A regex matcher (`label=~"pattern"`); request values in it must be regex_escape()d."""

    pattern: str


def cluster_matchers(cluster: str | None, home_cluster: str) -> dict[str, str | Regex]:
    """Return the matchers that select one cluster's series ({} for every cluster).

    Series without a `cluster` label belong to the home cluster (settings.KUBEMON_CLUSTER, as in
    a single-cluster Prometheus), so asking for it also matches an empty label.
    """
    if cluster is None:
        return {}
    check_label_value("cluster", cluster)
    if cluster == home_cluster:
        return {"cluster": Regex("|" + regex_escape(cluster))}
    return {"cluster": cluster}


def quote(value: str) -> str:
    """Return value as a double-quoted PromQL string literal (Go escaping rules)."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def any_of(values) -> str:
    """A quoted regex that matches exactly any of the values."""
    return quote("|".join(regex_escape(v) for v in sorted(set(values))))


LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def matchers_text(matchers: dict[str, str | Regex]) -> str:
    """Return `label="value", label=~"pattern", ...` with every value quoted.

    Label names come from the catalog, never from a request; they are checked all the same so a
    mistake there fails loudly instead of producing odd PromQL.
    """
    parts = []
    for label, value in matchers.items():
        if not LABEL_NAME.fullmatch(label):
            raise ValueError(f"not a label name: {label!r}")
        if isinstance(value, Regex):
            parts.append(f"{label}=~{quote(value.pattern)}")
        else:
            parts.append(f"{label}={quote(value)}")
    return ", ".join(parts)


def selector(metric: str, matchers: dict[str, str | Regex]) -> str:
    """Return `metric{label="value", ...}` with every value quoted (the metric name checked)."""
    if not METRIC_NAME.fullmatch(metric):
        raise ValueError(f"not a metric name: {metric!r}")
    return metric + "{" + matchers_text(matchers) + "}"


def filters_selector(
    metric: str,
    fixed: dict[str, str],
    filters: dict[str, str],
    cluster: str | None = None,
    home_cluster: str = "default",
) -> str:
    """Return the selector of metric with fixed matchers, validated filters and the cluster's."""
    checked = {label: check_label_value(label, value) for label, value in filters.items()}
    return selector(metric, {**fixed, **checked, **cluster_matchers(cluster, home_cluster)})
