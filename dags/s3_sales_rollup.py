"""
Daily sales roll-up through S3.

1. ``extract_orders`` writes the day's orders as CSV to
   ``s3://<data_bucket>/raw/sales/ds=<YYYY-MM-DD>/orders.csv``.
2. ``summarize_by_region`` reads that file back, adds up orders, units and revenue per region, and
   writes ``s3://<data_bucket>/curated/sales/ds=<YYYY-MM-DD>/summary_by_region.json``.

Nothing in this file is specific to a target. On MWAA and on EKS alike:

* S3 is reached through the Airflow connection ``aws_default``. Left empty it uses the credentials of
  the environment (the MWAA execution role, the pod's IRSA role); locally or in tests it can carry keys
  and an ``endpoint_url`` (e.g. a moto server).
* The bucket is the Airflow Variable ``data_bucket``, read when a task runs (never while the file is
  parsed). Set it in the UI, with ``airflow variables set``, through a secrets backend, or as the
  environment variable ``AIRFLOW_VAR_DATA_BUCKET``.

The extract step stands in for a real source (an API, a database): it emits a fixed batch stamped with
the run's date, so the DAG runs anywhere and its output can be checked.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3: the Task SDK is the public authoring interface
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (MWAA supports 2.9.2-2.11.2)
    from airflow.decorators import dag, task

AWS_CONN_ID = "aws_default"
BUCKET_VARIABLE = "data_bucket"
RAW_KEY = "raw/sales/ds={ds}/orders.csv"
SUMMARY_KEY = "curated/sales/ds={ds}/summary_by_region.json"
CSV_COLUMNS = ("order_id", "region", "sku", "quantity", "unit_price")

# The "source system": (order_id, region, sku, quantity, unit_price).
ORDERS = (
    ("o-1001", "emea", "widget", 3, "19.99"),
    ("o-1002", "amer", "gadget", 1, "249.00"),
    ("o-1003", "emea", "gadget", 2, "249.00"),
    ("o-1004", "apac", "widget", 10, "19.99"),
    ("o-1005", "amer", "widget", 5, "19.99"),
    ("o-1006", "apac", "gizmo", 4, "7.50"),
    ("o-1007", "emea", "gizmo", 12, "7.50"),
)


def _data_bucket() -> str:
    """The bucket from the Airflow Variable, looked up at run time (inside a task)."""
    try:
        from airflow.sdk import Variable
    except ImportError:  # Airflow 2.x
        from airflow.models import Variable

    # Second argument positionally: it is `default` in Airflow 3 and `default_var` in Airflow 2.
    bucket = Variable.get(BUCKET_VARIABLE, None)
    if not bucket:
        raise ValueError(
            f"Airflow Variable {BUCKET_VARIABLE!r} is not set: set it to the name of the S3 bucket "
            f"for this DAG's data (or export AIRFLOW_VAR_{BUCKET_VARIABLE.upper()})"
        )
    return bucket


def _s3_hook():
    # Imported here, not at the top: boto3 and the provider are only needed when a task runs,
    # and keeping them out of the module keeps parsing this file cheap.
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=AWS_CONN_ID)


@dag(
    dag_id="s3_sales_rollup",
    description="Orders to S3 as CSV, then a per-region summary as JSON",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=15),
    },
    tags=["example", "s3", "sales"],
    doc_md=__doc__,
)
def s3_sales_rollup():
    @task
    def extract_orders(ds: str | None = None) -> str:
        """Write the day's orders to S3 as CSV and return the object's key."""
        import csv
        import io

        # Airflow 3 runs triggered without a logical date have no `ds`: partition those by today.
        day = ds or pendulum.now("UTC").to_date_string()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(ORDERS)

        key = RAW_KEY.format(ds=day)
        _s3_hook().load_string(buffer.getvalue(), key=key, bucket_name=_data_bucket(), replace=True)
        return key

    @task
    def summarize_by_region(raw_key: str) -> dict:
        """Read the raw CSV back, aggregate per region, write the summary as JSON next to it."""
        import csv
        import io
        import json
        from collections import defaultdict
        from decimal import Decimal

        bucket = _data_bucket()
        hook = _s3_hook()
        rows = list(csv.DictReader(io.StringIO(hook.read_key(raw_key, bucket_name=bucket))))
        if not rows:
            raise ValueError(f"s3://{bucket}/{raw_key} has no orders")

        totals = defaultdict(lambda: {"orders": 0, "units": 0, "revenue": Decimal("0")})
        for row in rows:
            region = totals[row["region"]]
            quantity = int(row["quantity"])
            region["orders"] += 1
            region["units"] += quantity
            region["revenue"] += quantity * Decimal(row["unit_price"])

        day = raw_key.split("ds=", 1)[1].split("/", 1)[0]
        summary = {
            "ds": day,
            "source": f"s3://{bucket}/{raw_key}",
            "regions": {
                name: {**t, "revenue": str(t["revenue"].quantize(Decimal("0.01")))}
                for name, t in sorted(totals.items())
            },
            "total_orders": len(rows),
            "total_revenue": str(sum(t["revenue"] for t in totals.values()).quantize(Decimal("0.01"))),
        }
        key = SUMMARY_KEY.format(ds=day)
        hook.load_string(json.dumps(summary, indent=2, sort_keys=True), key=key, bucket_name=bucket, replace=True)
        return {"key": key, "total_orders": summary["total_orders"], "total_revenue": summary["total_revenue"]}

    summarize_by_region(extract_orders())


s3_sales_rollup()
