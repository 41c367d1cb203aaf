"""Command line: `python -m simulator {history,truth,serve,scrape-config} ...`."""

import argparse
import json
import sys
from datetime import UTC, datetime

from simulator.behaviours import BEHAVIOURS, parse_behaviours
from simulator.cluster import FLAVOURS, INTERVALS, Cluster
from simulator.energy_truth import DEFAULT_IDLE_PERCENT


def iso_time(text: str) -> datetime:
    """ISO 8601 time; without an offset it is taken as UTC."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=1)
    common.add_argument("--nodes", type=int, default=4, help="CPU nodes (default 4)")
    common.add_argument("--gpu-nodes", type=int, default=2, help="GPU nodes, 8 GPUs each")
    common.add_argument("--jobs-per-hour", type=float, default=30)
    common.add_argument("--flavour", choices=FLAVOURS, default="containerd")
    common.add_argument(
        "--scrape-interval", type=int, choices=INTERVALS, default=30, help="seconds; must divide 60"
    )
    common.add_argument("--cluster-label", default=None, help="adds cluster=<name> everywhere")
    common.add_argument(
        "--behaviours",
        default="",
        help=f"comma list of real-exporter behaviours, or `all`: {', '.join(BEHAVIOURS)}",
    )
    common.add_argument(
        "--max-bridged-gap",
        type=int,
        default=3600,
        help="seconds; the truth counts what lies in a longer data gap as unobservable",
    )
    common.add_argument(
        "--steady-pods",
        type=int,
        default=0,
        help="extra long-running pods, Deployments of 4 replicas (default 0)",
    )
    common.add_argument(
        "--steady-containers", type=int, default=1, help="containers per extra steady pod"
    )
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("history", parents=[common], help="OpenMetrics file for promtool backfill")
    t = sub.add_parser("truth", parents=[common], help="ground truth JSON")
    for s in (h, t):
        s.add_argument("--start", type=iso_time, required=True)
        s.add_argument("--end", type=iso_time, required=True)
    h.add_argument("--out", required=True)
    t.add_argument("--out", default=None, help="file (default stdout)")
    t.add_argument(
        "--gpu-idle-percent",
        type=float,
        default=DEFAULT_IDLE_PERCENT,
        help="GPU activity below it counts as idle (gpu_idle_seconds; default 5)",
    )
    for name, text in (
        ("serve", "live exporter endpoints"),
        ("scrape-config", "Prometheus scrape_configs for `serve`"),
    ):
        s = sub.add_parser(name, parents=[common], help=text)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--host", default="127.0.0.1")
    return p


def scrape_config(cluster: Cluster, host: str, port: int) -> str:
    """A `scrape_configs:` YAML block whose targets carry the same labels as the history."""
    jobs = {"kubelet": "cadvisor", "kube-state-metrics": "ksm", "nvidia-dcgm-exporter": "dcgm"}
    out = ["scrape_configs:"]
    for job, kind in jobs.items():
        targets = [t for t in cluster.targets() if t.kind == kind]
        if not targets:
            continue
        out += [
            f"  - job_name: {job}",
            f"    scrape_interval: {cluster.scrape_interval}s",
            "    honor_labels: false",
        ]
        if kind == "cadvisor":  # as kube-prometheus does for /metrics/cadvisor
            out.append("    honor_timestamps: false")
        out.append("    static_configs:")
        for t in targets:
            out += [
                f'      - targets: ["{host}:{port}"]',
                "        labels:",
                f'          __metrics_path__: "{t.path}"',
            ]
            out += [f'          {k}: "{v}"' for k, v in t.labels.items()]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        cluster = Cluster(
            seed=args.seed,
            nodes=args.nodes,
            gpu_nodes=args.gpu_nodes,
            jobs_per_hour=args.jobs_per_hour,
            flavour=args.flavour,
            scrape_interval=args.scrape_interval,
            cluster_label=args.cluster_label,
            behaviours=parse_behaviours(args.behaviours),
            max_bridged_gap=args.max_bridged_gap,
            steady_pods=args.steady_pods,
            steady_containers=args.steady_containers,
        )
    except ValueError as e:
        parser.error(
            f"--nodes/--gpu-nodes/--jobs-per-hour/--behaviours/--max-bridged-gap/--steady-*: {e}"
        )
    if args.command in ("history", "truth") and args.end <= args.start:
        parser.error("--end must be after --start")
    if args.command == "history":
        stats = cluster.history(args.start, args.end, args.out)
        print(json.dumps(stats), file=sys.stderr)
    elif args.command == "truth":
        truth = cluster.truth(args.start, args.end, args.gpu_idle_percent)
        text = json.dumps(truth, indent=1) + "\n"
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
    elif args.command == "scrape-config":
        sys.stdout.write(scrape_config(cluster, args.host, args.port))
    else:
        from simulator.server import make_server

        server = make_server(cluster, args.host, args.port)
        print(
            f"serving {len(cluster.targets())} targets on http://{args.host}:{server.server_port}/",
            file=sys.stderr,
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
