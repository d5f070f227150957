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

# Airflow 2's log servers (airflow/utils/serve_logs.py) run gunicorn bound to "[::]:<port>" or "0.0.0.0:<port>", also
# with no setting for the address: the same rule, at gunicorn's config (the webserver's own --bind is already loopback).
try:
    import gunicorn.config as _gunicorn_config
except ImportError:  # pragma: no cover - Airflow 3 environments may have no gunicorn
    _gunicorn_config = None

_WILDCARDS = ("0.0.0.0:", "[::]:", ":")


def _loopback_bind(value):
    values = [value] if isinstance(value, str) else list(value)
    moved = [f"127.0.0.1:{v.split(':')[-1]}" if v.startswith(_WILDCARDS) else v for v in values]
    return moved[0] if isinstance(value, str) else moved


if _gunicorn_config is not None:
    _set = _gunicorn_config.Config.set

    def _loopback_set(self, name, value):
        return _set(self, name, _loopback_bind(value) if name == "bind" else value)

    _gunicorn_config.Config.set = _loopback_set
