"""Keycloak, the identity provider of ``make run`` and the tests, for real: the
``org.keycloak:keycloak-quarkus-dist`` zip from Maven Central, assembled with ``mvn`` into
deploy/keycloak/dist (cached beside the Kafka broker's jars; ``make install`` does it once,
including Keycloak's own build step), run in development mode on loopback with Temurin 25.

Per data directory (``<data dir>/identity/``, files 0600): the bootstrap administrator's
password, the flow server's client secret, the demo users' passwords (``demo-users.json``),
Keycloak's dev-file (H2) database and the realm file rendered from deploy/keycloak/ (every role
of ``services.security.roles.Role``, so the realm cannot drift from the code). The realm is
imported on the first start only: stopped and started again, Keycloak keeps its realm, users
and signing keys. ``python -m deploy keycloak`` runs it on its own."""

import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

from services.security.roles import Role

from .processes import free_port, port_open, start, stop, wait_until

VERSION = "26.5.6"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{VERSION}:zip"
KEYCLOAK_DIR = Path(__file__).parent / "keycloak"
DIST = KEYCLOAK_DIR / "dist"
HOME = DIST / f"keycloak-{VERSION}"
READY = HOME / ".continuum-assembled"  # written once the distribution is unpacked and built
JAVA_HOME = Path(os.environ.get("CONTINUUM_KEYCLOAK_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))

REALM = "continuum"
AUDIENCE = "continuum-api"
SCRIPTS_CLIENT = "continuum-scripts"
DASHBOARD_CLIENT = "continuum-dashboard"
WORKFLOW_CLIENT = "continuum-workflow"
ADMIN_USERNAME = "continuum-admin"

DEMO_TENANT = "demo-network"
DEMO_PROGRAMS = ("adult-mh", "substance-use", "adolescent")  # services/planning/config/programs.yaml
STAFF_ROLES = (Role.CLINICIAN, Role.PSYCHIATRIST, Role.CASE_MANAGER, Role.SCHEDULER, Role.CARE_COORDINATOR,
               Role.OPERATIONS, Role.PRIVACY_OFFICER)
"""The people of a provider network: one demo user each (``demo-clinician``, ``demo-case-manager`` …)."""


@contextmanager
def _locked(path: Path):
    """An exclusive lock across processes (two test sessions assembling at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def assemble() -> Path:
    """Download the distribution (``mvn dependency:copy``; Maven's local repository keeps the zip),
    unpack it into deploy/keycloak/dist and run Keycloak's build step once (its first start in
    development mode re-augments the server; done here so that every later start skips it).
    Returns Keycloak's home directory. Instant once done."""
    if READY.exists():
        return HOME
    with _locked(KEYCLOAK_DIR / ".assemble.lock"):
        if READY.exists():
            return HOME
        if not (JAVA_HOME / "bin" / "java").exists():
            raise RuntimeError(f"Keycloak {VERSION} needs a Java newer than 17: no JDK at {JAVA_HOME} "
                               "(set CONTINUUM_KEYCLOAK_JAVA_HOME)")
        if shutil.which("mvn") is None:
            raise RuntimeError("mvn not found: Maven is needed to assemble Keycloak")
        shutil.rmtree(DIST, ignore_errors=True)
        download = DIST / ".download"
        download.mkdir(parents=True)
        subprocess.run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}",
                        f"-DoutputDirectory={download}"], check=True)
        zip_path = download / f"keycloak-quarkus-dist-{VERSION}.zip"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(DIST)
        shutil.rmtree(download)
        for script in (HOME / "bin").glob("*.sh"):
            script.chmod(0o755)
        with tempfile.TemporaryDirectory(prefix="keycloak-build-") as scratch:
            warm = KeycloakServer(Path(scratch), free_port())
            warm.start(timeout_s=300, realm=False, assembled=True)  # the build step; throwaway database
            warm.stop()
        READY.write_text(VERSION + "\n")
    return HOME


def _secret_file(path: Path, make=lambda: secrets.token_urlsafe(24)) -> str:
    """The secret in ``path``, generated (0600) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


@dataclass
class KeycloakServer:
    """``data_dir``: ``<deployment data dir>/identity``."""
    data_dir: Path
    port: int = 8180
    heap: str = "512m"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "keycloak.log"

    @property
    def admin_password(self) -> str:
        return _secret_file(self.data_dir / "admin-password")

    @property
    def workflow_secret(self) -> str:
        return _secret_file(self.data_dir / "workflow-client-secret")

    @property
    def workflow_secret_file(self) -> Path:
        self.workflow_secret  # noqa: B018 - generated on first use
        return self.data_dir / "workflow-client-secret"

    @property
    def demo_users_file(self) -> Path:
        return self.data_dir / "demo-users.json"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def demo_users(self) -> list[dict]:
        """The demo network's people (passwords generated once per data dir, kept in demo-users.json)."""
        if self.demo_users_file.exists():
            return json.loads(self.demo_users_file.read_text())["users"]
        users = [{"username": demo_username(role), "password": secrets.token_urlsafe(12), "roles": [role.value],
                  "tenant": DEMO_TENANT, "programs": list(DEMO_PROGRAMS)} for role in STAFF_ROLES]
        _write_private(self.demo_users_file, json.dumps({
            "about": "Demo users of the realm 'continuum' (generated for this data directory; never committed). "
                     "Sign in to the dashboard, or get a token: deploy/api_client.py.",
            "keycloak": self.url, "realm": REALM, "issuer": self.issuer,
            "account_console": f"{self.issuer}/account", "users": users}, indent=2) + "\n")
        return users

    def render_realm(self) -> Path:
        """deploy/keycloak/continuum-realm.json with this data dir's secrets, every Role and the demo
        users, written to ``<identity>/import/continuum-realm.json`` (0600: it holds passwords)."""
        profile = json.loads((KEYCLOAK_DIR / "user-profile.json").read_text())
        values = {"audience": AUDIENCE, "workflow_secret": self.workflow_secret}
        whole = {"realm_roles": [{"name": role.value, "description": f"Continuum role {role.value}"}
                                 for role in Role],
                 "user_profile": json.dumps(profile)}

        def fill(node):
            if isinstance(node, dict):
                return {k: fill(v) for k, v in node.items()}
            if isinstance(node, list):
                return [fill(v) for v in node]
            if isinstance(node, str):
                if m := re.fullmatch(r"\$\{(\w+)\}", node):
                    if m.group(1) in whole:
                        return whole[m.group(1)]
                return Template(node).safe_substitute(values)
            return node

        realm = fill(json.loads((KEYCLOAK_DIR / "continuum-realm.json").read_text()))
        for user in self.demo_users():
            role = user["roles"][0]
            realm["users"].append({
                "username": user["username"], "enabled": True, "emailVerified": True,
                "firstName": "Demo", "lastName": role.replace("_", " ").title(),
                "attributes": {"tenant": [user["tenant"]], "programs": user["programs"]},
                "credentials": [{"type": "password", "value": user["password"], "temporary": False}],
                "realmRoles": user["roles"]})
        path = self.data_dir / "import" / f"{REALM}-realm.json"
        _write_private(path, json.dumps(realm, indent=2) + "\n")
        return path

    def _command(self) -> list[str]:
        db = self.data_dir / "keycloak"
        return [str(HOME / "bin" / "kc.sh"), "start-dev",
                f"-Dquarkus.transaction-manager.object-store.directory={db / 'transaction-logs'}",
                "--http-host=127.0.0.1", f"--http-port={self.port}", f"--hostname={self.url}",
                "--db=dev-file", f"--db-url=jdbc:h2:file:{db / 'h2' / 'keycloakdb'};NON_KEYWORDS=VALUE"]

    def _env(self) -> dict[str, str]:
        return {"JAVA_HOME": str(JAVA_HOME), "PATH": f"{JAVA_HOME / 'bin'}:{os.environ.get('PATH', '')}",
                "JAVA_OPTS_KC_HEAP": f"-Xms64m -Xmx{self.heap}",
                "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME, "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password}

    def start(self, timeout_s: float = 240, realm: bool = True, assembled: bool = False) -> None:
        """Start Keycloak; on the first start of this data dir, import the realm. Returns once
        ``/realms/continuum/.well-known/openid-configuration`` answers."""
        if self.running:
            return
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is already in use: is another Keycloak running? "
                               "Stop it, or choose CONTINUUM_KEYCLOAK_PORT")
        if not assembled:
            assemble()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.proc = start(self._command(), self.log_file, self._env())
        try:
            wait_until(lambda: httpx.get(f"{self.url}/realms/master/.well-known/openid-configuration",
                                         timeout=2).status_code == 200,
                       timeout_s, f"Keycloak on {self.url}", self.proc, self.log_file)
            if realm:
                self.ensure_realm()
                wait_until(lambda: httpx.get(f"{self.issuer}/.well-known/openid-configuration",
                                             timeout=2).status_code == 200,
                           30, f"realm {REALM} on {self.url}", self.proc, self.log_file)
                _write_private(self.data_dir / "keycloak.json", json.dumps({
                    "url": self.url, "realm": REALM, "issuer": self.issuer, "audience": AUDIENCE,
                    "admin_username": ADMIN_USERNAME, "scripts_client": SCRIPTS_CLIENT,
                    "dashboard_client": DASHBOARD_CLIENT, "workflow_client": WORKFLOW_CLIENT}, indent=2) + "\n")
        except BaseException:
            self.stop()
            raise

    def admin_token(self) -> str:
        r = httpx.post(f"{self.url}/realms/master/protocol/openid-connect/token", timeout=30, data={
            "grant_type": "password", "client_id": "admin-cli", "username": ADMIN_USERNAME,
            "password": self.admin_password})
        r.raise_for_status()
        return r.json()["access_token"]

    def ensure_realm(self) -> bool:
        """Import the rendered realm unless Keycloak already has it (a restart keeps it). True if imported."""
        path = self.render_realm()
        headers = {"Authorization": f"Bearer {self.admin_token()}"}
        if httpx.get(f"{self.url}/admin/realms/{REALM}", headers=headers, timeout=30).status_code == 200:
            return False
        started = time.monotonic()
        r = httpx.post(f"{self.url}/admin/realms", headers={**headers, "Content-Type": "application/json"},
                       content=path.read_bytes(), timeout=120)
        if r.status_code != 201:
            raise RuntimeError(f"importing realm {REALM} failed: {r.status_code} {r.text[:1000]}")
        with self.log_file.open("a") as log:
            log.write(f"continuum: realm {REALM} imported from {path} in {time.monotonic() - started:.1f}s\n")
        return True

    def stop(self) -> None:
        stop(self.proc, timeout_s=30)
        self.proc = None
