"""Stands in for MWAA 2.10.3's `mwaa.config.celery.MWAA_CELERY_CONFIG`, its `[celery] celery_config_options` (on the
MWAA twin's PYTHONPATH as MWAA's /python is on its images').

Read from aws/amazon-mwaa-docker-images images/airflow/2.10.3/python/mwaa/config/celery.py and sqs.py (commit
9d2bebb5c785): Airflow's default Celery config, with broker_transport_options carrying the one predefined queue
(named after the last segment of MWAA__SQS__QUEUE_URL), is_secure from MWAA__SQS__USE_SSL (default true) and the
region from AWS_REGION (else AWS_DEFAULT_REGION); the database engine options MWAA sets for the result backend. The
one difference: kombu's own SQS transport (the broker URL's sqs://), not MWAA's vendored copy of it, as the 3.x twin.
"""

from __future__ import annotations

import copy
import os

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

_QUEUE_URL = os.environ["MWAA__SQS__QUEUE_URL"]
# mwaa.config.database.MWAA_CONNECT_ARGS
_CONNECT_ARGS = {"connect_timeout": 15, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 5,
                 "keepalives_count": 5}

MWAA_CELERY_CONFIG = {
    **copy.deepcopy(DEFAULT_CELERY_CONFIG),
    "broker_transport_options": {
        **DEFAULT_CELERY_CONFIG["broker_transport_options"],
        "predefined_queues": {_QUEUE_URL.rstrip("/").rsplit("/", 1)[-1]: {"url": _QUEUE_URL}},
        "is_secure": os.environ.get("MWAA__SQS__USE_SSL", "true").lower() == "true",
        "region": os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"],
    },
    "database_engine_options": {"pool_pre_ping": True, "pool_recycle": 1200, "connect_args": _CONNECT_ARGS},
}
