"""A persistent Prefect server on loopback (SQLite under the data directory, telemetry
off) and the process that serves the workflows' deployments.

The server's API needs authentication (Prefect 3's basic authentication: the server runs with
``PREFECT_SERVER_API_AUTH_STRING``, every client sends ``PREFECT_API_AUTH_STRING``, the same
``user:password``). The string is generated once per data directory into a file readable by its
owner only, never committed; ``client_env()`` hands it to every process that talks to Prefect."""

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .processes import port_open, start, stop, wait_until

ROOT = Path(__file__).resolve().parents[1]
AUTH_USER = "continuum"


def ensure_auth_string(data_dir: Path) -> str:
    """The Prefect API's ``user:password`` of this data directory, created once (0600). Processes
    starting together each write a candidate and link it into place: the first link wins."""
    path = Path(data_dir).resolve() / "api-auth-string"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{AUTH_USER}:{secrets.token_urlsafe(32)}")
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


@dataclass
class PrefectServer:
    data_dir: Path
    port: int = 4200
    ui: bool = True
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def auth_string(self) -> str:
        return ensure_auth_string(self.data_dir)

    @property
    def auth(self) -> httpx.BasicAuth:
        """For a plain HTTP call to the API (``httpx.get(..., auth=prefect.auth)``)."""
        user, _, password = self.auth_string.partition(":")
        return httpx.BasicAuth(user, password)

    def client_env(self) -> dict[str, str]:
        """Every process that talks to Prefect needs these (without PREFECT_API_URL a
        client silently starts a temporary server of its own; without PREFECT_API_AUTH_STRING
        the server answers 401)."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_API_AUTH_STRING": self.auth_string,
            "PREFECT_HOME": str(self.data_dir / "home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }

    def server_env(self) -> dict[str, str]:
        db = (self.data_dir / "prefect.db").resolve()
        return {
            **self.client_env(),
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{db}",
            "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
            "PREFECT_UI_ENABLED": "true" if self.ui else "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }

    def start(self, timeout_s: float = 300) -> None:  # its first start migrates; slow on a busy machine
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is already in use: choose CONTINUUM_PREFECT_PORT")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        prefect = str(Path(sys.executable).parent / "prefect")
        self.proc = start([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                          self.data_dir / "server.log", self.server_env())
        wait_until(lambda: httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200, timeout_s,
                   f"Prefect server on port {self.port}", self.proc, self.data_dir / "server.log")

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


def start_flow_server(prefect: PrefectServer, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m workflows.serve``: executes scheduled check-in runs when due. ``env``: the
    deployment's (environment, ``CONTINUUM_AUTH_ISSUER``, ``CONTINUUM_WORKFLOW_CLIENT_ID`` and
    ``..._CLIENT_SECRET_FILE``, ``CONTINUUM_WORKFLOW_AFTERCARE_URL``: its runs call aftercare with
    the flow server's own client-credentials token)."""
    from workflows.follow_up import DEPLOYMENT_PATH

    proc = start([sys.executable, "-m", "workflows.serve"], log, {**(env or {}), **prefect.client_env()}, cwd=ROOT)

    def served() -> bool:
        r = httpx.get(f"{prefect.api_url}/deployments/name/{DEPLOYMENT_PATH}", timeout=2, auth=prefect.auth)
        return r.status_code == 200

    wait_until(served, 90, "the workflows' flow server", proc, log)
    return proc
