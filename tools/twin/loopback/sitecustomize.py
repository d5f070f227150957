"""Loaded by the twin's Airflow processes only (their PYTHONPATH): servers bind to 127.0.0.1, never every interface.

Airflow's worker and triggerer log servers listen on every interface and have no setting for the address; the port
is theirs to set (`[logging] worker_log_server_port`, `trigger_log_server_port`). Airflow 3 calls uvicorn with host
""; Airflow 2 (airflow/utils/serve_logs.py) runs gunicorn bound to "[::]:<port>" or "0.0.0.0:<port>". This keeps
the twin's rule that nothing listens beyond loopback, and changes nothing else.
"""

WILDCARDS = (None, "", "0.0.0.0", "::", "[::]")

try:
    import uvicorn as _uvicorn
except ImportError:  # pragma: no cover - an environment without uvicorn starts no server
    _uvicorn = None

if _uvicorn is not None:
    _run = _uvicorn.run

    def _loopback_run(app, *args, host=None, **kwargs):
        if host in WILDCARDS:
            host = "127.0.0.1"
        return _run(app, *args, host=host, **kwargs)

    _uvicorn.run = _loopback_run

try:
    from gunicorn import config as _gunicorn_config
except ImportError:  # pragma: no cover - an environment without gunicorn starts no gunicorn server
    _gunicorn_config = None

if _gunicorn_config is not None:
    _set = _gunicorn_config.Config.set

    def _loopback_set(self, name, value):
        if name == "bind":
            binds = [value] if isinstance(value, str) else list(value)
            value = [f"127.0.0.1:{b.rsplit(':', 1)[1]}" if ":" in b and b.rsplit(":", 1)[0] in WILDCARDS else b
                     for b in binds]
        return _set(self, name, value)

    _gunicorn_config.Config.set = _loopback_set
