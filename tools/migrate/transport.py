"""How requests reach an Airflow: its REST API over HTTP, or Amazon MWAA's InvokeRestApi.

Both give ``request(method, path, params, body) -> (status, decoded JSON)`` with ``path`` relative to
the API root (``/variables``), and set ``airflow_version`` (the version the server reports, checked
when the transport is created) and ``api`` (``"v1"`` or ``"v2"``). ``request`` asks again, with backoff,
when the answer is 429 or a 5xx (see retry.py); what it returns is the last answer.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, MigrateError, PathTooLong
from .retry import RETRYABLE, RetryPolicy

#: The oldest Airflow (major, minor) whose API this tool speaks: 2.x serves /api/v1, 3.x /api/v2.
#: Every 2.x from there and every 3.x are supported; 4.x and later are refused.
MIN_SUPPORTED = (2, 9)

#: MWAA's InvokeRestApi limits (service model and user guide): path length, response payload.
MWAA_MAX_PATH = 64


def parse_version(text: Any) -> tuple[int, int, int]:
    if not isinstance(text, str):
        raise ValueError(text)
    parts = []
    for piece in text.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            raise ValueError(text)
        parts.append(int(digits))
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def check_supported(version: str, where: str) -> tuple[int, int, int]:
    try:
        v = parse_version(version)
    except ValueError:
        raise MigrateError(f"{where} reports an unreadable Airflow version {version!r}") from None
    if v[:2] < MIN_SUPPORTED or v[0] >= 4:
        raise MigrateError(
            f"{where} runs Airflow {version}, which this tool does not support (it handles 2.9 to 3.x)"
        )
    return v


def check_url(url: str, flag: str) -> None:
    """Refuse what ``HttpTransport`` cannot use, before any request and without echoing a password."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        role = flag.removeprefix("--").removesuffix("-url")
        raise MigrateError(f"{flag}: credentials in the URL are not accepted; "
                           f"use --{role}-user and --{role}-password-env")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MigrateError(f"{flag} {url!r} is not an http(s) URL")
    try:
        parts.port
    except ValueError:
        raise MigrateError(f"{flag} {url!r} has an invalid port") from None


class Transport:
    label = "airflow"
    max_workers = 8
    max_page = 1000
    max_body_bytes = 4_000_000
    max_batch = 100_000
    api = "v2"  # "v1" for Airflow 2.x, "v2" for Airflow 3.x
    airflow_version = ""
    retry = RetryPolicy()

    def request(self, method: str, path: str, params: dict | None = None, body: Any = None,
                **send_options) -> tuple[int, Any]:
        retries = 0
        while True:
            status, data, retry_after = self.send(method, path, params, body, **send_options)
            if status not in RETRYABLE:
                return status, data
            retries += 1
            wait = self.retry.wait_before(retries, retry_after)
            if wait is None:
                return status, data
            self.retry.sleep(wait)

    def send(self, method: str, path: str, params: dict | None, body: Any) -> tuple[int, Any, str | None]:
        """One request: (status, decoded JSON, the Retry-After header if any)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def _short(data: Any) -> str:
    """A short reason from an error body, without echoing request input (FastAPI's 422 carries it)."""
    if isinstance(data, dict):
        detail = data.get("detail", data.get("title", data.get("message")))
        if isinstance(detail, list):  # pydantic validation errors: keep location and message only
            parts = []
            for err in detail[:3]:
                if isinstance(err, dict):
                    loc = ".".join(str(p) for p in err.get("loc", []) if p != "body")
                    parts.append(f"{loc}: {err.get('msg', '')}".strip(": "))
            return "; ".join(parts)
        if isinstance(detail, dict):
            return str(detail.get("reason") or detail.get("message") or "")[:300]
        if detail is not None:
            return str(detail)[:300]
        return ""
    if isinstance(data, str):
        return data.strip().splitlines()[0][:300] if data.strip() else ""
    return ""


class HttpTransport(Transport):
    """Airflow's REST API at a URL: ``/api/v2`` with a JWT from ``/auth/token`` (3.x), ``/api/v1`` with basic auth (2.x)."""

    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        workers: int = 8,
        role: str = "source",
    ):
        import requests
        from requests.adapters import HTTPAdapter

        check_url(url, f"--{role}-url")
        self.base = url.rstrip("/")
        self.label = self.base
        self.role = role
        self.user, self._password, self._token = user, password, token
        self.timeout = timeout
        self.max_workers = max(1, workers)
        self._requests = requests
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.max_workers + 2, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = "application/json"
        self._auth_lock = threading.Lock()
        self.prefix = ""
        self._connect()

    # -- set-up --------------------------------------------------------------------------------

    def _raw(self, method: str, url: str, **kw) -> Any:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kw)
        except self._requests.exceptions.Timeout:
            raise MigrateError(f"Airflow API at {self.base} did not answer within {self.timeout:g}s") from None
        except self._requests.exceptions.SSLError:
            raise MigrateError(f"TLS error talking to {self.base} (certificate not trusted?)") from None
        except self._requests.exceptions.ConnectionError:
            raise MigrateError(f"cannot reach the Airflow API at {self.base} (connection failed)") from None
        except self._requests.exceptions.RequestException as exc:
            raise MigrateError(f"request to {self.base} failed: {type(exc).__name__}") from None

    @staticmethod
    def _json(resp) -> Any:
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _connect(self) -> None:
        # Ask the server which Airflow it runs; the answer decides the API. /version needs no login.
        found = None
        for api in ("v2", "v1"):
            resp = self._raw("GET", f"{self.base}/api/{api}/version")
            if resp.status_code == 200:
                data = self._json(resp)
                if isinstance(data, dict) and "version" in data:
                    found = api, data["version"]
                    break
            if resp.status_code in (401, 403) and api == "v1":
                found = api, None  # some 2.x deployments protect /version: log in first, then ask again
                break
        if found is None:
            raise MigrateError(
                f"{self.base} does not look like an Airflow API server "
                f"(no /api/v2/version or /api/v1/version; status {resp.status_code})"
            )
        self.api, version = found
        self.prefix = f"/api/{self.api}"
        if version is not None:
            self._check_version(version)  # before logging in: nothing is sent to a server we cannot handle
        self._login()
        if version is None:
            status, data = self.request("GET", "/version")
            if status != 200 or not isinstance(data, dict):
                raise MigrateError(f"{self.base}: cannot read the Airflow version (status {status})")
            version = data.get("version")
            self._check_version(version)

    def _check_version(self, version: Any) -> None:
        v = check_supported(version, self.base)
        expected = "v2" if v[0] >= 3 else "v1"
        if expected != self.api:
            raise MigrateError(
                f"{self.base} answers on /api/{self.api} but reports Airflow {version}, "
                f"which serves /api/{expected}: refusing a mismatched API"
            )
        self.airflow_version = version

    def _login(self) -> None:
        if self._token:
            self.session.headers["Authorization"] = f"Bearer {self._token}"
        elif self.api == "v2":
            if self.user is None:
                return  # e.g. SIMPLE_AUTH_MANAGER_ALL_ADMINS: try without a token; a 401 later says why
            resp = self._raw(
                "POST",
                f"{self.base}/auth/token",
                json={"username": self.user, "password": self._password or ""},
            )
            if resp.status_code in (401, 403):
                raise MigrateError(f"wrong credentials for user {self.user!r} at {self.base} (login refused)")
            if resp.status_code == 404:
                raise MigrateError(
                    f"{self.base} has no /auth/token endpoint; pass a token with --{self.role}-token-env"
                )
            data = self._json(resp)
            if resp.status_code not in (200, 201) or not isinstance(data, dict) or "access_token" not in data:
                raise MigrateError(f"login at {self.base}/auth/token failed (status {resp.status_code})")
            self.session.headers["Authorization"] = f"Bearer {data['access_token']}"
        elif self.user is not None:
            self.session.auth = (self.user, self._password or "")
        # Check the credentials now, on something every role may read, so that a bad password stops us
        # before anything is read or written.
        status, data = self.request("GET", "/pools", params={"limit": 1}, relogin=False)
        if status == 401:
            if self.user is None and not self._token:
                raise MigrateError(
                    f"{self.base} requires a login: pass --{self.role}-user and --{self.role}-password-env"
                )
            raise MigrateError(f"wrong credentials for user {self.user!r} at {self.base} (status 401)")
        if status == 403:
            raise MigrateError(f"user {self.user!r} may not read pools at {self.base} (status 403)")
        if status != 200:
            raise ApiError(f"{self.base}: GET /pools answered {status} {_short(data)}".rstrip(), status)

    # -- requests ------------------------------------------------------------------------------

    def send(self, method, path, params, body, relogin=True):
        kw: dict[str, Any] = {}
        if params:
            kw["params"] = params
        if body is not None:
            kw["data"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
            kw["headers"] = {"Content-Type": "application/json"}
        auth_header = self.session.headers.get("Authorization")
        resp = self._raw(method, f"{self.base}{self.prefix}{path}", **kw)
        if resp.status_code == 401 and relogin and self.api == "v2" and self.user is not None and not self._token:
            with self._auth_lock:  # the JWT expired: log in again once, then retry
                if self.session.headers.get("Authorization") == auth_header:
                    self._login()
            resp = self._raw(method, f"{self.base}{self.prefix}{path}", **kw)
        return resp.status_code, self._json(resp), resp.headers.get("Retry-After")

    def close(self) -> None:
        self.session.close()


def mwaa_client_factory(region: str | None, profile: str | None, workers: int, label: str, role: str):
    """A boto3 ``mwaa`` client (tests replace this function to hand in a client wired to botocore's Stubber)."""
    try:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(profile_name=profile, region_name=region)
        if session.region_name is None:
            raise MigrateError(f"no AWS region for {label}: pass --{role}-region or set AWS_REGION")
        cfg = Config(
            retries={"mode": "standard", "max_attempts": 8},
            max_pool_connections=workers + 2,
            read_timeout=30,
            connect_timeout=10,
        )
        return session.client("mwaa", config=cfg)
    except MigrateError:
        raise
    except Exception as exc:  # botocore.exceptions.ProfileNotFound and friends
        raise MigrateError(f"cannot set up the AWS client for {label}: {type(exc).__name__}: {exc}") from None


class MwaaTransport(Transport):
    """An Amazon MWAA environment through ``mwaa:InvokeRestApi`` (IAM auth; the Airflow role is MWAA's)."""

    max_workers = 4
    # Pages as big as the environment allows ([api] maximum_page_limit caps them, 100 by default); a page
    # whose response breaks MWAA's 6 MB limit is halved until it fits (see AirflowApi._get_page).
    max_page = 1000
    max_body_bytes = 1_000_000
    # InvokeRestApi gives up after 10 s, and on Airflow 3 every variable written asks the secrets backend
    # (Secrets Manager) for its key first: keep each bulk request small.
    max_batch = 50

    def __init__(self, name: str, region: str | None = None, profile: str | None = None, client=None,
                 workers: int = 4, role: str = "source"):
        self.name = name
        self.role = role
        self.label = f"MWAA environment {name}"
        self.max_workers = max(1, workers)
        if client is None:
            client = mwaa_client_factory(region, profile, self.max_workers, self.label, role)
        self.client = client
        import botocore.exceptions as bce

        self._bce = bce
        status, data = self.request("GET", "/version")
        if status != 200 or not isinstance(data, dict) or "version" not in data:
            raise MigrateError(f"{self.label}: cannot read the Airflow version (status {status})")
        version = data["version"]
        v = check_supported(version, self.label)
        self.api = "v2" if v[0] >= 3 else "v1"
        self.airflow_version = version

    def send(self, method, path, params, body):
        if len(path) > MWAA_MAX_PATH:
            raise PathTooLong(f"path {path[:40]}... is longer than MWAA's {MWAA_MAX_PATH} characters")
        kw: dict[str, Any] = {"Name": self.name, "Path": path, "Method": method}
        if params:
            kw["QueryParameters"] = params
        if body is not None:
            kw["Body"] = body
        bce = self._bce
        try:
            resp = self.client.invoke_rest_api(**kw)
        except bce.ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "")
            if code in ("RestApiClientException", "RestApiServerException"):
                # InvokeRestApi passes Airflow's status and body on, not its headers (no Retry-After).
                return int(exc.response.get("RestApiStatusCode") or 400), exc.response.get("RestApiResponse"), None
            if code == "ResourceNotFoundException":
                raise MigrateError(f"{self.label} not found (check the name and the region)") from None
            if code in ("AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException",
                        "InvalidSignatureException"):
                raise MigrateError(f"access to {self.label} denied: {code}") from None
            msg = err.get("Message", "")
            if any(w in f"{code} {msg}".lower() for w in ("too large", "payload size", "exceeds", "exceeded")):
                return 413, {"detail": "response too large for InvokeRestApi"}, None  # the caller halves the page
            raise MigrateError(f"{self.label}: {code or 'error'} {msg}".strip()[:300]) from None
        except bce.NoCredentialsError:
            raise MigrateError(f"no AWS credentials found for {self.label}") from None
        except (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ReadTimeoutError):
            raise MigrateError(f"cannot reach the MWAA API for {self.label}") from None
        except bce.ParamValidationError as exc:
            raise MigrateError(f"{self.label}: invalid request: {str(exc).splitlines()[0][:200]}") from None
        except bce.BotoCoreError as exc:
            raise MigrateError(f"{self.label}: {type(exc).__name__}") from None
        return int(resp.get("RestApiStatusCode", 200)), resp.get("RestApiResponse"), None
