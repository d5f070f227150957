"""The age of the oldest QUEUED task instance, sent as a StatsD timing: EKS's match for SQS's ApproximateAgeOfOldestTask.

Runs as a sidecar of the scheduler pod (components/eks/queued_age_sidecar.py passes this file's source inline to
`python -c` in the Airflow image), so it must stay self-contained: the standard library and SQLAlchemy, which the image
has, imported only in main(). No Go template braces nor Kubernetes variable references in this file: the chart runs
extraContainers through Helm's `tpl`, and the kubelet expands variables in args (tests/test_queued_age.py checks both).

Every INTERVAL seconds: `min(queued_dttm)` over task_instance rows in state 'queued' in the metadata database (the
connection the scheduler uses), and `<prefix>.task.oldest_queued_age:<ms>|ms` to the CloudWatch agent's StatsD port.
Nothing is sent while no task is queued, as SQS has no oldest message in an empty queue. Airflow's own
`task.queued_duration` is not used: it is measured only when a task leaves QUEUED (too late for a task stuck there),
and Airflow 3.0 to 3.3.1 never send it (apache/airflow#63503, #66067).
"""

import datetime
import os
import socket
import sys
import time
from urllib.parse import urlsplit

QUERY = "SELECT min(queued_dttm) FROM task_instance WHERE state = 'queued' AND queued_dttm IS NOT NULL"
METRIC = "task.oldest_queued_age"  # under the slot's statsd_prefix, as Airflow's own metrics
# The sidecar's environment (components/eks/queued_age_sidecar.py sets it; the connection as the scheduler gets it).
CONN_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
STATSD_ENV = "QUEUED_AGE_STATSD"  # udp://host:port
PREFIX_ENV = "QUEUED_AGE_PREFIX"
INTERVAL_ENV = "QUEUED_AGE_INTERVAL"  # seconds


def age_ms(oldest, now):
    """Milliseconds since `oldest` (a datetime, naive meaning UTC, or an ISO string as SQLite returns), None if none."""
    if oldest is None:
        return None
    if isinstance(oldest, str):
        oldest = datetime.datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=datetime.timezone.utc)
    return max(0, int((now - oldest).total_seconds() * 1000))


def datagram(prefix, milliseconds):
    return f"{prefix}.{METRIC}:{milliseconds}|ms".encode()


def tick(fetch_oldest, send, prefix, now):
    """One measurement: fetch_oldest() -> the oldest queued_dttm or None; send(bytes) gets the datagram, if any."""
    milliseconds = age_ms(fetch_oldest(), now)
    if milliseconds is not None:
        send(datagram(prefix, milliseconds))
    return milliseconds


def statsd_address(url):
    parts = urlsplit(url)
    if parts.scheme != "udp" or not parts.hostname or not parts.port:
        raise SystemExit(f"{STATSD_ENV}: expected udp://host:port, got {url!r}")
    return parts.hostname, parts.port


def main():
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    # NullPool: one short connection per measurement, released at once to PgBouncer (transaction pooling).
    engine = sqlalchemy.create_engine(os.environ[CONN_ENV], poolclass=NullPool)
    address = statsd_address(os.environ[STATSD_ENV])
    prefix, interval = os.environ[PREFIX_ENV], float(os.environ.get(INTERVAL_ENV, "10"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def fetch_oldest():
        with engine.connect() as connection:
            return connection.exec_driver_sql(QUERY).scalar()

    while True:
        started = time.monotonic()
        try:
            tick(fetch_oldest, lambda data: sock.sendto(data, address), prefix,
                 datetime.datetime.now(datetime.timezone.utc))
        except Exception as exc:  # the database or the agent away for a while: say so, keep measuring
            print(f"queued-age: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                  file=sys.stderr, flush=True)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
