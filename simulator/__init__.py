"""Seeded, deterministic synthetic Kubernetes cluster emitting cAdvisor, kube-state-metrics and
DCGM exporter series, with exact ground truth for billing. See docs/simulator.md."""

from simulator.cluster import Cluster

__all__ = ["Cluster"]
