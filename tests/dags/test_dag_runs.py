"""Runs the DAGs end to end with `dag.test()` (real Airflow, sqlite DB) and checks what they produced.

The S3 DAG talks to a moto S3 server on 127.0.0.1 through the `aws_default` connection, defined by
AIRFLOW_CONN_AWS_DEFAULT exactly as a deployment could define it; the bucket comes from the Variable
`data_bucket` (AIRFLOW_VAR_DATA_BUCKET). Nothing in the DAG file knows it is under test.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import uuid

import pendulum
import pytest

RUN_DATE = pendulum.datetime(2025, 3, 14, 6, 0, tz="UTC")


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free port of 127.0.0.1, stopped after the module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """boto3 client of the moto server, a fresh bucket, and aws_default + data_bucket pointing at them."""
    import boto3

    bucket = f"data-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_VAR_DATA_BUCKET", bucket)
    client.bucket = bucket  # the test's bucket, for the assertions
    return client


def run_dag(dagbag, dag_id, monkeypatch, logical_date=RUN_DATE):
    """`dag.test()` one run at `logical_date`, without retries (a failing task fails the run at once
    instead of dag.test() waiting out its retry_delay). Returns the DagRun and {(task_id, map_index): state}."""
    dag = dagbag.dags[dag_id]
    for task in dag.tasks:
        monkeypatch.setattr(task, "retries", 0)
    # Airflow 3 calls it logical_date, Airflow 2 execution_date.
    date_arg = "logical_date" if "logical_date" in inspect.signature(dag.test).parameters else "execution_date"
    dag_run = dag.test(**{date_arg: logical_date})
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    return dag_run, states


def return_values(dag_run, task_id):
    """{map_index: value} of the task's return_value XComs in that run, read from the metadata DB."""
    from airflow.utils.session import create_session

    try:  # Airflow 3: rows hold the serialized value
        from airflow.models.xcom import XComModel as XCom

        value_of = XCom.deserialize_value
    except ImportError:  # Airflow 2: the model deserializes on load
        from airflow.models.xcom import XCom

        def value_of(row):
            return row.value

    with create_session() as session:
        rows = (
            session.query(XCom)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .all()
        )
        return {row.map_index: value_of(row) for row in rows}


def test_smoke_dag_runs(dagbag, airflow_db, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT_TARGET", "pytest")
    dag_run, states = run_dag(dagbag, "smoke", monkeypatch)
    assert str(dag_run.state) == "success"
    assert states == {("report", -1): "success", ("check", -1): "success"}

    import airflow

    [report] = return_values(dag_run, "report").values()
    assert report["airflow"] == airflow.__version__
    assert report["python"].startswith("3.12.")
    assert report["target"] == "pytest"
    [message] = return_values(dag_run, "check").values()
    assert message == f"Airflow {airflow.__version__} on Python {report['python']} at {report['hostname']} (pytest)"


def test_s3_dag_writes_raw_and_summary_objects(dagbag, airflow_db, s3, monkeypatch):
    dag_run, states = run_dag(dagbag, "s3_sales_rollup", monkeypatch)
    assert str(dag_run.state) == "success", states
    assert states == {("extract_orders", -1): "success", ("summarize_by_region", -1): "success"}

    raw_key = "raw/sales/ds=2025-03-14/orders.csv"
    summary_key = "curated/sales/ds=2025-03-14/summary_by_region.json"
    listed = s3.list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert sorted(obj["Key"] for obj in listed) == sorted([raw_key, summary_key])

    raw = s3.get_object(Bucket=s3.bucket, Key=raw_key)["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert raw.splitlines()[0] == "order_id,region,sku,quantity,unit_price"
    assert [r["order_id"] for r in rows] == [f"o-100{i}" for i in range(1, 8)]
    assert rows[3] == {"order_id": "o-1004", "region": "apac", "sku": "widget", "quantity": "10", "unit_price": "19.99"}

    summary = json.loads(s3.get_object(Bucket=s3.bucket, Key=summary_key)["Body"].read())
    # Worked out by hand from the seven orders in dags/s3_sales_rollup.py:
    # emea 3*19.99 + 2*249.00 + 12*7.50 = 647.97; amer 249.00 + 5*19.99 = 348.95; apac 10*19.99 + 4*7.50 = 229.90
    assert summary == {
        "ds": "2025-03-14",
        "source": f"s3://{s3.bucket}/{raw_key}",
        "regions": {
            "amer": {"orders": 2, "units": 6, "revenue": "348.95"},
            "apac": {"orders": 2, "units": 14, "revenue": "229.90"},
            "emea": {"orders": 3, "units": 17, "revenue": "647.97"},
        },
        "total_orders": 7,
        "total_revenue": "1226.82",
    }
    assert return_values(dag_run, "summarize_by_region") == {
        -1: {"key": summary_key, "total_orders": 7, "total_revenue": "1226.82"}
    }


def test_s3_dag_fails_clearly_without_the_bucket_variable(dagbag, airflow_db, s3, monkeypatch, capfd, caplog):
    """The bucket is looked up when the task runs: without the Variable the file still parses, the run fails."""
    monkeypatch.delenv("AIRFLOW_VAR_DATA_BUCKET")
    dag_run, states = run_dag(dagbag, "s3_sales_rollup", monkeypatch, logical_date=RUN_DATE.add(days=1))
    assert str(dag_run.state) == "failed"
    assert states[("extract_orders", -1)] == "failed"
    assert states[("summarize_by_region", -1)] == "upstream_failed"
    assert s3.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0
    out, err = capfd.readouterr()  # Airflow 3 logs the task's error to stdout, Airflow 2 through logging
    assert "Airflow Variable 'data_bucket' is not set" in out + err + caplog.text


def test_fanout_dag_maps_one_task_per_shard(dagbag, airflow_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_FANOUT_SHARDS", "5")
    dag_run, states = run_dag(dagbag, "fanout_primes", monkeypatch)
    assert str(dag_run.state) == "success", states
    assert states == {
        ("plan_shards", -1): "success",
        **{("count_primes", i): "success" for i in range(5)},
        ("combine", -1): "success",
    }
    # pi(1000k) - pi(1000(k-1)) for k = 1..5: 168, 135, 127, 120, 119 (pi(5000) = 669)
    counts = return_values(dag_run, "count_primes")
    assert {i: r["primes"] for i, r in counts.items()} == {0: 168, 1: 135, 2: 127, 3: 120, 4: 119}
    assert counts[4] == {"start": 4000, "stop": 5000, "primes": 119}
    assert return_values(dag_run, "combine") == {-1: {"shards": 5, "stop": 5000, "primes": 669}}
