"""PostgreSQL, PgBouncer and Redis from Debian's packages, on 127.0.0.1 only, with the made certificates."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import secrets
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .certs import Certificates
from .endpoints import Endpoints
from .errors import TwinError
from .files import write_private
from .ports import LOOPBACK, free_port
from .supervisor import Process, Supervisor, require_binary



def _postgres_bin() -> Path:
    """Debian/Ubuntu install PostgreSQL under /usr/lib/postgresql/<major>/bin (Debian 12: 15, Ubuntu 24.04: 16)."""
    if os.environ.get("TWIN_PG_BIN"):
        return Path(os.environ["TWIN_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()
PGBOUNCER = os.environ.get("TWIN_PGBOUNCER", "/usr/sbin/pgbouncer")
REDIS_SERVER = os.environ.get("TWIN_REDIS_SERVER", "/usr/bin/redis-server")
SERVICE_USER = "postgres"  # PostgreSQL and PgBouncer refuse to run as root


def _as_service_user(paths: list[Path]) -> list[str]:
    """When run as root: chown what the server touches and drop to the postgres user (setpriv keeps the PID)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam(SERVICE_USER)
    for path in paths:
        for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(p, user.pw_uid, user.pw_gid)
    return [require_binary("setpriv"), f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


def service_folder(supervisor: Supervisor, name: str) -> Path:
    """A 0700 folder for a server. As ourselves: inside the 0700 workdir. As root the server runs as the postgres
    user, who can't enter root's 0700 workdir: then a 0700 folder beside it, named after it (cleanup and --stop
    remove the workdir's siblings), which _as_service_user hands to that user."""
    if os.geteuid() != 0:
        folder = supervisor.workdir / name
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix=f"{supervisor.workdir.name}-{name}-", dir=supervisor.workdir.parent))


class Postgres:
    """A fresh cluster: TLS on with the made certificate; `user` may connect over TCP only with TLS (hostssl)."""

    def __init__(self, supervisor: Supervisor, certs: Certificates, name: str = "postgresql"):
        self.supervisor, self.name = supervisor, name
        self.root = service_folder(supervisor, name)
        self.port = free_port()
        # The superuser's password: no `trust` line, so no other local user becomes superuser through the socket.
        self._superuser_password = secrets.token_urlsafe(24)
        self.socket_dir = self.root / "socket"
        self.process: Process | None = None
        self._certs = certs

    def start(self, user: str, password: str, database: str) -> None:
        data, tls = self.root / "data", self.root / "tls"
        for folder in (data, self.socket_dir, tls):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self._certs.cert, tls / "server.crt")
        write_private(tls / "server.key", self._certs.key.read_bytes())
        data.chmod(0o700)
        pwfile = write_private(self.root / "superuser.pw", self._superuser_password + "\n")
        prefix = _as_service_user([self.root])
        initdb = subprocess.run([*prefix, require_binary(str(PG_BIN / "initdb")), "-D", str(data), "-U", "postgres",
                                 f"--pwfile={pwfile}", "--auth-local=scram-sha-256", "--auth-host=reject", "--no-sync"],
                                capture_output=True, text=True)
        pwfile.unlink()
        if initdb.returncode != 0:
            log = self.supervisor.logs / f"{self.name}-initdb.log"
            log.write_text(initdb.stdout + initdb.stderr)
            raise TwinError(f"{self.name}: initdb failed; read {log}")
        # TCP only over TLS, password checked with SCRAM: PgBouncer's server_tls_sslmode is really exercised.
        # The socket only for its owner (root reaches it anyway), and even there a password.
        (data / "pg_hba.conf").write_text(f"local all postgres scram-sha-256\nhostssl {database} {user} {LOOPBACK}/32 scram-sha-256\n")
        _as_service_user([data / "pg_hba.conf"])
        self.process = self.supervisor.start(self.name, [
            str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.socket_dir}", "-c", "unix_socket_permissions=0700", "-c", "ssl=on",
            "-c", f"ssl_cert_file={tls / 'server.crt'}", "-c", f"ssl_key_file={tls / 'server.key'}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
            ports=(self.port,), prefix=prefix)
        self.supervisor.wait_port(self.process, self.port)
        literal = password.replace("'", "''")
        self.sql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{literal}';\nCREATE DATABASE \"{database}\" OWNER \"{user}\";\n")

    def sql(self, script: str) -> str:
        """Run SQL as the superuser over the Unix socket (the script goes on stdin: no secret in argv)."""
        done = subprocess.run([require_binary(str(PG_BIN / "psql")), "-h", str(self.socket_dir), "-p", str(self.port),
                               "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"],
                              input=script, capture_output=True, text=True,
                              env={**os.environ, "PGPASSWORD": self._superuser_password})  # env, never argv
        if done.returncode != 0:
            raise TwinError(f"{self.name}: SQL failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
        return done.stdout


# ---------------------------------------------------------------------------------------------- PgBouncer

# Settings the twin owns in pgbouncer.ini: where it listens and its file paths. Everything else is the plan's.
PGBOUNCER_REWRITTEN = ("listen_addr", "listen_port", "auth_file", "unix_socket_dir", "logfile", "pidfile")


def pgbouncer_listen_port(ini: str) -> int:
    match = re.search(r"^\s*listen_port\s*=\s*(\d+)\s*$", ini, flags=re.MULTILINE)
    if not match:
        raise TwinError("airflow-pgbouncer-config pgbouncer.ini: no listen_port")
    return int(match.group(1))


def rewrite_pgbouncer_ini(ini: str, endpoints: Endpoints, listen_port: int, auth_file: Path) -> str:
    """The generated ini with only listen address/port, paths and database endpoints changed."""
    out, section = [], None
    for line in ini.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().lower()
            out.append(line)
            if section == "pgbouncer":
                out += [f"listen_addr = {LOOPBACK}", f"listen_port = {listen_port}", f"auth_file = {auth_file}",
                        "unix_socket_dir =", "logfile =", "pidfile ="]
            continue
        key, sep, value = line.partition("=")
        if section == "pgbouncer" and sep and key.strip().lower() in PGBOUNCER_REWRITTEN:
            continue
        if section == "databases" and sep and stripped and not stripped.startswith((";", "#")):
            out.append(f"{key.rstrip()} = {_rewrite_database(key.strip(), value, endpoints)}")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _rewrite_database(name: str, value: str, endpoints: Endpoints) -> str:
    fields = dict(part.split("=", 1) for part in value.split() if "=" in part)
    host, port = fields.get("host"), int(fields.get("port", "5432"))
    fields["host"], new_port, _ = endpoints.address(host, port, f"pgbouncer.ini [databases] {name}")
    fields["port"] = str(new_port)
    return " ".join(f"{k}={v}" for k, v in fields.items())


def start_pgbouncer(supervisor: Supervisor, ini: str, users: str, endpoints: Endpoints, listen_port: int) -> Process:
    folder = service_folder(supervisor, "pgbouncer")
    auth_file = folder / "users.txt"
    write_private(auth_file, users)
    config = write_private(folder / "pgbouncer.ini", rewrite_pgbouncer_ini(ini, endpoints, listen_port, auth_file))
    process = supervisor.start("pgbouncer", [PGBOUNCER, str(config)], ports=(listen_port,),
                               prefix=_as_service_user([folder]))
    supervisor.wait_port(process, listen_port, timeout=30)
    return process


def check_stats_connection(url: str, endpoints: Endpoints, pod: str) -> str:
    """Open the PgBouncer stats connection as the chart's exporter does (Go, lib/pq).

    lib/pq treats a URL without sslmode as sslmode=require (libpq's default would be `prefer`): so does this.
    """
    parts = urlsplit(url)
    sslmode = parse_qs(parts.query).get("sslmode", ["require"])[-1]
    host, port, _ = endpoints.address(parts.hostname, parts.port or 5432, "airflow-pgbouncer-stats connection", pod)
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or ""), "PGSSLMODE": sslmode, "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run([require_binary(str(PG_BIN / "psql")), "-h", host, "-p", str(port), "-U", unquote(parts.username or ""),
                           "-d", parts.path.lstrip("/"), "-qAt", "-c", "SHOW VERSION"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise TwinError(f"airflow-pgbouncer-stats connection (opened as lib/pq does, sslmode={sslmode}"
                        f"{'' if 'sslmode=' in parts.query else ' because the URL sets none'}) fails: {reason}")
    return done.stdout.strip()


def psql_query(url: str, sql: str, where: str) -> str:
    """One query through a (loopback) connection URL, password from the URL via the environment, never argv."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or ""), "PGSSLMODE": query.get("sslmode", ["prefer"])[-1],
           "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run([require_binary(str(PG_BIN / "psql")), "-h", parts.hostname or "", "-p", str(parts.port or 5432),
                           "-U", unquote(parts.username or ""), "-d", parts.path.lstrip("/"), "-qAt", "-c", sql],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise TwinError(f"{where}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return done.stdout.strip()


# ---------------------------------------------------------------------------------------------- Redis


def start_redis(supervisor: Supervisor, port: int, password: str, certs: Certificates | None) -> Process:
    """Redis with AUTH; with certs, TLS only (`port 0`, `tls-port`), like ElastiCache with in-transit encryption."""
    folder = supervisor.workdir / "redis"  # Redis runs as us: inside the 0700 workdir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    listen = ([f"port 0", f"tls-port {port}", f"tls-cert-file {certs.cert}", f"tls-key-file {certs.key}",
               f"tls-ca-cert-file {certs.ca}", "tls-auth-clients no"] if certs else [f"port {port}"])
    config = write_private(folder / "redis.conf", "\n".join([
        f"bind {LOOPBACK}", *listen, f'requirepass "{password}"', 'save ""', "appendonly no", f"dir {folder}",
        "protected-mode yes", ""]))
    process = supervisor.start("redis", [REDIS_SERVER, str(config)], ports=(port,))
    supervisor.wait_port(process, port, timeout=30)
    return process
