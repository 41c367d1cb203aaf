"""Seeded, deterministic synthetic Kubernetes cluster emitting cAdvisor, kube-state-metrics and
DCGM exporter series, with exact ground truth for billing (simulator.cluster.Cluster is the
entry point). See docs/simulator.md."""
