"""Loaded by the twin's Airflow processes only (their PYTHONPATH): servers bind to 127.0.0.1, never every interface.

Airflow's worker and triggerer log servers call uvicorn with host "" (every interface) and have no setting for the
address; the port is theirs to set (`[logging] worker_log_server_port`, `trigger_log_server_port`). This keeps the
twin's rule that nothing listens beyond loopback, and changes nothing else.
"""

try:
    import uvicorn as _uvicorn
except ImportError:  # pragma: no cover - an environment without uvicorn starts no server
    _uvicorn = None

if _uvicorn is not None:
    _run = _uvicorn.run

    def _loopback_run(app, *args, host=None, **kwargs):
        if host in (None, "", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        return _run(app, *args, host=host, **kwargs)

    _uvicorn.run = _loopback_run
