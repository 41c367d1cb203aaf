"""PromQL selectors built from request values, safely.

Every value that comes from a request is first checked against the Kubernetes name grammar of its
label (DNS-1123 label or subdomain), then escaped as a PromQL string literal anyway, so nothing a
client sends can change the shape of a query (quotes, braces, `"} or vector(1)`, newlines...).
"""

import re

# DNS-1123 label: namespaces, container names (at most 63 characters).
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# DNS-1123 subdomain: pod and node names (at most 253 characters, dot-separated labels).
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SUBDOMAIN_MAX = 253

# The grammar of each label a request may filter on.
LABEL_GRAMMAR = {
    "namespace": "label",
    "container": "label",
    "pod": "subdomain",
    "node": "subdomain",
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
    return value


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


LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def selector(metric: str, matchers: dict[str, str]) -> str:
    """Return `metric{label="value", ...}` with every value quoted.

    Label and metric names come from the catalog, never from a request; they are checked all the
    same so a mistake there fails loudly instead of producing odd PromQL.
    """
    if not METRIC_NAME.fullmatch(metric):
        raise ValueError(f"not a metric name: {metric!r}")
    parts = []
    for label, value in matchers.items():
        if not LABEL_NAME.fullmatch(label):
            raise ValueError(f"not a label name: {label!r}")
        parts.append(f"{label}={quote(value)}")
    return metric + "{" + ", ".join(parts) + "}"


def filters_selector(metric: str, fixed: dict[str, str], filters: dict[str, str]) -> str:
    """Return the selector of metric with fixed matchers and validated request filters."""
    checked = {label: check_label_value(label, value) for label, value in filters.items()}
    return selector(metric, {**fixed, **checked})
