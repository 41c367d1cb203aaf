"""/healthz (the process alone) and /readyz (the database and Prometheus answer)."""

import socket

import pytest

from simulator.prometheus import free_port


def test_healthz_answers_without_the_database(client):
    # No `db` fixture: any database access here would raise.
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_and_prometheus_answer(client, db, prometheus_settings):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "prometheus": "ok"}}


def test_readyz_names_an_unreachable_prometheus_without_its_credentials(client, db, settings):
    settings.PROMETHEUS_URL = f"http://kubemon:s3cret@127.0.0.1:{free_port()}"
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "prometheus": "unavailable"},
    }
    assert b"s3cret" not in answer.content
    assert b"127.0.0.1" not in answer.content


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_readyz_gives_up_on_a_silent_prometheus_after_its_short_timeout(
    client, db, settings, silent_server
):
    settings.PROMETHEUS_URL = silent_server
    settings.PROMETHEUS_TIMEOUT = 30  # readyz must not wait that long
    settings.KUBEMON_READY_TIMEOUT = 0.2
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["prometheus"] == "timeout"


def test_health_and_metrics_need_no_login(client, db, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    for url in ("/healthz", "/readyz", "/metrics"):
        assert client.get(url).status_code in (200, 503), url
