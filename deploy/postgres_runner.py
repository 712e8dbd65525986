"""A PostgreSQL server from Debian's packages for the services' stores: one cluster (initdb,
trust authentication, listening on loopback only, its unix socket inside its own directory),
started by pg_ctl on a free port, one database per service; stopped at the end.

Debian keeps the server's programs off PATH, under /usr/lib/postgresql/<version>/bin
(``make test`` installs the ``postgresql`` package when they are missing). PostgreSQL refuses
to run as root: as root it runs as the package's ``postgres`` user, which must own the cluster
and reach it; when it cannot reach ``<data dir>/postgres`` (a private temporary directory, as
pytest's are) the cluster goes in a temporary directory of its own, removed at stop."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .processes import free_port

SUPERUSER = "continuum"  # the cluster's superuser; trust authentication, on loopback only


class PostgresMissing(RuntimeError):
    pass


def server_bin_dir() -> Path:
    """The newest installed server's programs: Debian's version directories, else PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)])
    if found:
        return found[-1].parent
    if on_path := shutil.which("initdb"):
        return Path(on_path).parent
    raise PostgresMissing("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                          "apt-get install postgresql")


class PostgresServer:
    def __init__(self, data_dir: Path, port: int = 0):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.bin = server_bin_dir()
        # PostgreSQL will not run as root: then it runs as the package's own user
        self.run_as = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self.cluster: Path | None = None
        self.temporary = False

    @property
    def log_file(self) -> Path:
        assert self.cluster is not None, "start() chooses the cluster"
        return self.cluster / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database (asyncpg driver, TCP on loopback)."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, as_server: bool = True, check: bool = True
             ) -> subprocess.CompletedProcess:
        user = self.run_as if as_server else None
        try:
            return subprocess.run([str(self.bin / program), *args], check=check, capture_output=True, text=True,
                                  user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                                  cwd="/")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"{program} failed ({exc.returncode}): {exc.stderr.strip()[-2000:]}") from exc

    def _own(self, path: Path) -> None:
        if self.run_as:
            os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)

    def _reachable_by_server(self, path: Path) -> bool:
        if self.run_as is None:
            return True
        return subprocess.run(["test", "-w", str(path)], user=self.run_as.pw_uid, group=self.run_as.pw_gid,
                              cwd="/").returncode == 0

    def _choose_cluster(self) -> Path:
        wanted = self.data_dir / "postgres"
        wanted.mkdir(parents=True, exist_ok=True)
        self._own(wanted)
        if self._reachable_by_server(wanted):
            return wanted
        wanted.rmdir()
        self.temporary = True
        path = Path(tempfile.mkdtemp(prefix="continuum-postgres-"))
        self._own(path)
        return path

    def _init_cluster(self) -> None:
        assert self.cluster is not None, "start() chooses the cluster"
        if (self.cluster / "PG_VERSION").exists():
            return
        self._run("initdb", "-D", str(self.cluster), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--no-locale", "--no-instructions")
        with (self.cluster / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'continuum.conf'\n")

    def _write_settings(self) -> None:
        """Rewritten at every start: the port is chosen then."""
        assert self.cluster is not None, "start() chooses the cluster"
        path = self.cluster / "continuum.conf"
        path.write_text("\n".join([
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.cluster}'",
            "max_connections = 300",  # each worker's pool: 5 (+10 overflow) connections
            # as SQLite's synchronous=NORMAL in WAL mode: a commit may be lost on power loss, never torn
            "synchronous_commit = off",
            "logging_collector = off",
        ]) + "\n")
        self._own(path)

    def start(self, databases: Iterable[str] = (), timeout_s: int = 90) -> None:
        self.cluster = self.cluster or self._choose_cluster()
        self._init_cluster()
        self.port = self.port or free_port()
        self._write_settings()
        self._run("pg_ctl", "-D", str(self.cluster), "-l", str(self.log_file), "-w", "-t", str(timeout_s),
                  "start")
        try:
            self.create_databases(databases)
        except BaseException:
            self.stop()
            raise

    def create_databases(self, names: Iterable[str]) -> None:
        existing = set(self.psql("select datname from pg_database").split())
        for name in names:
            if name not in existing:
                self.psql(f'create database "{name}"')

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                         "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql, as_server=False).stdout

    def stop(self) -> None:
        if self.cluster is None:
            return
        if (self.cluster / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.cluster), "-m", "fast", "-w", "-t", "60", "stop")
            except RuntimeError:
                self._run("pg_ctl", "-D", str(self.cluster), "-m", "immediate", "-w", "stop", check=False)
        if self.temporary:
            shutil.rmtree(self.cluster, ignore_errors=True)
            self.cluster = None
