#!/bin/sh
# Amazon MWAA startup script. MWAA runs it with bash on every Airflow component (scheduler, worker,
# web/API server; not the database migration) before it installs requirements.txt and starts Airflow;
# what it exports reaches Airflow and the tasks. MWAA stops it after about 5 minutes, and a few
# variables cannot be overridden (AIRFLOW_HOME, AWS_REGION, PYTHONPATH, MWAA__*, ...).
#
# The script's environment is read back by MWAA's own shell, so it stays safe to source: plain POSIX
# sh, no `exit`, no `set -e`/`set -u` (they would leak into that shell), and every variable it reads
# has a default. The EKS deployment sets the same variables in the Helm values, with its own target.

echo "startup.sh: component=${MWAA_AIRFLOW_COMPONENT:-unknown} airflow=${AIRFLOW_VERSION:-unknown} environment=${AIRFLOW_ENV_NAME:-unknown}"

# Where the DAGs run (the smoke DAG reports it).
export DEPLOYMENT_TARGET=mwaa

# boto3/botocore, as used by the Amazon provider's hooks: retries with backoff on throttling and
# transient S3 errors, up to 5 attempts per call.
export AWS_RETRY_MODE=standard
export AWS_MAX_ATTEMPTS=5

echo "startup.sh: exported DEPLOYMENT_TARGET=${DEPLOYMENT_TARGET} AWS_RETRY_MODE=${AWS_RETRY_MODE} AWS_MAX_ATTEMPTS=${AWS_MAX_ATTEMPTS}"
