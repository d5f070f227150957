"""A local Airflow for the DAGs in dags/, on the pinned .venv-airflow, that listens only on 127.0.0.1.

    scripts/local-airflow start [--home DIR] [--timeout SECONDS]
    scripts/local-airflow status [--home DIR]
    scripts/local-airflow stop [--home DIR] [--grace SECONDS]
    scripts/local-airflow url [--home DIR]      # just the URL, for scripts: SRC=$(scripts/local-airflow url ...)

`start` migrates the SQLite metadata DB in its own AIRFLOW_HOME (default .local-airflow/ in the repository),
then runs the scheduler (LocalExecutor), DAG processor, triggerer and API server (UI) in one new session and
process group, on a free port picked at start, and waits until the API reports every component healthy.
`stop` sends SIGTERM to that group (and to task processes, which Airflow moves to groups of their own in the
same session), then SIGKILL to whatever is left after the grace period: executor workers ignore SIGTERM.

Why not `airflow standalone`: its scheduler and triggerer always start log servers on every interface
(Airflow 3.3.1 binds them to "" with no host setting), and stopping it by PID orphans its children.
Here they run with --skip-serve-logs: the API server reads task logs from the local log folder instead.
Runs with .venv-airflow's Python (psutil comes with Airflow); scripts/local-airflow is the entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv-airflow" / "bin"
DEFAULT_HOME = REPO / ".local-airflow"
STATE_FILE = "local-airflow.json"
HOST = "127.0.0.1"
EXIT_NOT_RUNNING = 3  # `status` when nothing runs, as `systemctl status` does
COMPONENTS = {  # name -> `airflow` arguments; {port} is the API server's port
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "api-server": ["api-server", "--host", HOST, "--port", "{port}"],
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def airflow_env(home: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    # The user's choices for what runs (connections, Variables, other settings) stay; these are this script's.
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("DEPLOYMENT_TARGET", "local")  # shown by the smoke DAG
    env.update({
        "AIRFLOW_HOME": str(home),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # components and tasks start `airflow ...`
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{port}/execution/",
        # Never served (--skip-serve-logs), but the API server asks these ports for a running task's log:
        # ports of its own, not the defaults 8793/8794 where another local Airflow may be serving.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # its server would listen on 0.0.0.0
    })
    return env


# --- state: what `start` recorded --------------------------------------------------------------------------

def read_state(home: Path) -> dict | None:
    try:
        return json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def session_members(sid: int) -> list[psutil.Process]:
    """Live processes of the session `start` created: the group, plus task processes in groups of their own."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    return members


def listening(members: list[psutil.Process]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the members listen on."""
    found = set()
    for proc in members:
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port))
        except psutil.Error:
            continue
    return sorted(found)


def health(url: str) -> dict[str, str]:
    """Component -> status from the API's /api/v2/monitor/health ({} while the API server is not up)."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            body = json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return {}
    return {name: (part or {}).get("status", "unknown") for name, part in body.items()}


# --- commands ----------------------------------------------------------------------------------------------

# Files under AIRFLOW_HOME that hold secrets: the admin password and the metadata DB (connections, Variables).
PRIVATE_FILES = ("simple_auth_manager_passwords.json.generated", "airflow.db")


def make_private(home: Path) -> None:
    """Home 0700 and what Airflow creates in it 0600: the umask is inherited by every component, so files Airflow
    writes later (the password file, the DB, logs) are the user's only. Files of an earlier run are fixed too."""
    os.umask(0o077)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    for name in PRIVATE_FILES:
        if (home / name).exists():
            (home / name).chmod(0o600)


def start(home: Path, timeout: float) -> int:
    make_private(home)
    state = read_state(home)
    if state and session_members(state["sid"]):
        print(f"already running at {state['url']} (process group {state['sid']}); stop it first: "
              f"scripts/local-airflow stop --home {home}")
        return 0
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = airflow_env(home, port)

    print(f"==> migrating the metadata DB ({home / 'airflow.db'}; log: {logs / 'db-migrate.log'})", flush=True)
    with open(logs / "db-migrate.log", "ab") as log:
        migrated = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, cwd=home,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if migrated.returncode != 0:
        print(f"airflow db migrate failed; see {logs / 'db-migrate.log'}", file=sys.stderr)
        return 1

    # One shell in a new session starts every component: they share its process group, `stop` ends them all.
    # It writes "name pid" per component, so `start` can tell when one exits.
    pids_file = home / "components.pids"
    pids_file.unlink(missing_ok=True)
    script = "".join(
        f"airflow {' '.join(shlex.quote(a.format(port=port)) for a in args)} >>{shlex.quote(str(logs / name))}.log"
        f" 2>&1 &\necho {name} $! >>{shlex.quote(str(pids_file))}\n"
        for name, args in COMPONENTS.items()
    ) + "wait\n"
    print(f"==> starting {', '.join(COMPONENTS)} on {HOST}:{port} (logs: {logs}/)", flush=True)
    leader = subprocess.Popen(["bash", "-c", script], env=env, cwd=home, start_new_session=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    (home / STATE_FILE).write_text(json.dumps({"sid": leader.pid, "url": url, "port": port}) + "\n")

    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        pids = _component_pids(pids_file)
        gone = sorted(name for name, pid in pids.items() if not _alive(pid))
        if gone or (len(pids) < len(COMPONENTS) and leader.poll() is not None):
            gone = gone or sorted(set(COMPONENTS) - set(pids))
            print(f"local Airflow did not start: {', '.join(gone)} exited; see {logs}/{gone[0]}.log", file=sys.stderr)
            stop(home, grace=10)
            return 1
        status = health(url)
        if status and all(value == "healthy" for value in status.values()):
            break
        time.sleep(1)
    else:
        print(f"local Airflow not healthy after {timeout:.0f}s ({status or 'API server not answering'});"
              f" see {logs}/", file=sys.stderr)
        stop(home, grace=10)
        return 1

    print(f"local Airflow is up: {url} (process group {leader.pid}, AIRFLOW_HOME {home})")
    print(f"login: admin, password in {home / 'simple_auth_manager_passwords.json.generated'}")
    print(f"stop it with: scripts/local-airflow stop --home {home}")
    return 0


def _component_pids(pids_file: Path) -> dict[str, int]:
    try:
        return {name: int(pid) for name, pid in (line.split() for line in pids_file.read_text().splitlines())}
    except (OSError, ValueError):
        return {}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop(home: Path, grace: float) -> int:
    state = read_state(home)
    members = session_members(state["sid"]) if state else []
    if not members:
        (home / STATE_FILE).unlink(missing_ok=True)
        print("local Airflow is not running")
        return 0
    sid = state["sid"]
    _signal_all(sid, members, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while members and time.monotonic() < deadline:
        time.sleep(0.2)
        members = session_members(sid)
    stubborn = sorted({_title(p) for p in members})
    if members:  # what outlived SIGTERM
        _signal_all(sid, members, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while members and time.monotonic() < deadline:
            time.sleep(0.2)
            members = session_members(sid)
    if members:
        print(f"could not stop processes {[p.pid for p in members]} of local Airflow", file=sys.stderr)
        return 1
    (home / STATE_FILE).unlink(missing_ok=True)
    after = f"; SIGKILL after {grace:.0f}s for: {', '.join(stubborn)}" if stubborn else ""
    print(f"local Airflow stopped ({state['url']}{after})")
    return 0


def _title(proc: psutil.Process) -> str:
    """What the process shows in `ps` (Airflow sets titles such as "airflow worker -- LocalExecutor: <idle>")."""
    try:
        return " ".join(proc.cmdline()).strip()[:60] or proc.name()
    except psutil.Error:
        return str(proc.pid)


def _signal_all(sid: int, members: list[psutil.Process], sig: signal.Signals) -> None:
    try:
        os.killpg(sid, sig)  # the group start created
    except ProcessLookupError:
        pass
    for proc in members:  # and task processes, which run in process groups of their own
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass


def status(home: Path) -> int:
    state = read_state(home)
    members = session_members(state["sid"]) if state else []
    if not members:
        print("local Airflow is not running")
        return EXIT_NOT_RUNNING
    parts = health(state["url"])
    summary = ", ".join(f"{name} {value}" for name, value in parts.items()) or "API server not answering"
    sockets = ", ".join(f"{ip}:{port}" for ip, port in listening(members)) or "none"
    print(f"local Airflow is running at {state['url']} (process group {state['sid']}, {len(members)} processes)")
    print(f"health: {summary}; listening on: {sockets}")
    return 0


def url(home: Path) -> int:
    state = read_state(home)
    if not (state and session_members(state["sid"])):
        print("local Airflow is not running", file=sys.stderr)
        return EXIT_NOT_RUNNING
    print(state["url"])
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/local-airflow", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("start", "stop", "status", "url"))
    p.add_argument("--home", type=Path, default=Path(os.environ.get("LOCAL_AIRFLOW_HOME", DEFAULT_HOME)),
                   help="its AIRFLOW_HOME (default: $LOCAL_AIRFLOW_HOME or .local-airflow/ in the repository)")
    p.add_argument("--timeout", type=float, default=300, help="start: seconds to wait for a healthy Airflow")
    p.add_argument("--grace", type=float, default=10, help="stop: seconds between SIGTERM and SIGKILL")
    args = p.parse_args(argv)
    home = args.home.resolve()
    if args.command == "start":
        return start(home, args.timeout)
    if args.command == "stop":
        return stop(home, args.grace)
    if args.command == "url":
        return url(home)
    return status(home)


if __name__ == "__main__":
    sys.exit(main())
