"""One HTTP exchange with Prometheus, within a total deadline and a cap on the answer's bytes.

prometheus-api-client's `PrometheusConnect` holds the connection's set-up: the requests session
(TLS verification), the extra headers, basic auth, and the urllib3 retry adapter it mounts,
here without retries, because the client retries whole requests itself, each under a deadline
of its own. Its query methods are not used for the exchange: they read the whole answer into
memory whatever its size, wait up to the timeout on every socket read (an answer that drips
in takes as long as the server likes), send a POST's query in the URL, and put the answer's
body into their exceptions. The exchange below streams the answer through the same session
instead: every read may wait only for the time left, and the bytes are counted as they come.
(The status line and headers are read by http.client under requests' timeout, the whole budget
per read: a server that drips its status line and headers is not held to the deadline.)

Credentials in PROMETHEUS_URL (`http://user:secret@host`) are taken out of the URL and sent
as basic auth, so that the URL that messages and logs show has none.
"""

import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from promadapter.errors import PrometheusBadResponse, PrometheusTimeout, PrometheusUnavailable

# Bytes asked of the socket per read: one read returns what has arrived, up to this.
READ_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def without_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Return url without its user:password part, and that part as a basic auth pair."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def connect(url: str, headers: dict[str, str], verify: bool | str) -> PrometheusConnect:
    """Return a PrometheusConnect for url (credentials moved to basic auth), without retries."""
    safe_url, auth = without_credentials(url)
    session = requests.Session()
    session.verify = verify
    return PrometheusConnect(
        safe_url,
        headers=headers,
        auth=auth,
        session=session,
        retry=Retry(total=0, read=False),
        method="POST",
    )


def exchange(
    connector: PrometheusConnect,
    method: str,
    url: str,
    params: dict,
    timeout: float,
    max_bytes: int,
) -> Answer:
    """Send one request and read its answer, all of it within `timeout` seconds.

    Raises PrometheusTimeout when the deadline passes, PrometheusBadResponse when the answer
    is longer than max_bytes, PrometheusUnavailable when the connection breaks mid-answer;
    requests' own exceptions for failures before an answer starts.
    """
    deadline = time.monotonic() + timeout
    form = {"params": params} if method == "GET" else {"data": params}
    response = connector._session.request(
        method,
        url,
        headers=connector.headers,
        auth=connector.auth,
        timeout=(timeout, timeout),
        stream=True,
        **form,
    )
    with response:
        body = read_body(response, deadline, timeout, max_bytes, connector.url)
    return Answer(response.status_code, body)


def read_body(
    response: requests.Response, deadline: float, timeout: float, max_bytes: int, where: str
) -> bytes:
    """Read the answer's body by reads that each wait no longer than the time left."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(where, max_bytes)
    parts, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise late(where, timeout)
        limit_next_read(response, left)
        try:
            part = response.raw.read1(READ_BYTES, decode_content=True)
        except ReadTimeoutError:
            raise late(where, timeout) from None
        except (Urllib3Error, OSError) as e:
            raise PrometheusUnavailable(
                f"Prometheus at {where} broke off its answer: {type(e).__name__}"
            ) from None
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > max_bytes:
            raise too_large(where, max_bytes)
        parts.append(part)


def limit_next_read(response: requests.Response, seconds: float) -> None:
    """Let the next socket read wait at most `seconds` (requests' timeout is per read).

    The socket sits under urllib3's and http.client's response objects; answers that do not
    come from a socket (test doubles) have none, and keep the timeout given to requests.
    """
    raw = getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def late(where: str, timeout: float) -> PrometheusTimeout:
    return PrometheusTimeout(f"Prometheus at {where} did not answer within {timeout:g} s")


def too_large(where: str, max_bytes: int) -> PrometheusBadResponse:
    return PrometheusBadResponse(
        f"Prometheus at {where} answered more than PROMETHEUS_MAX_BYTES ({max_bytes} bytes); "
        "ask for fewer series or a shorter range"
    )
