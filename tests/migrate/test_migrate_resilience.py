"""Issue 12, items 16 and 17: a server that is failing is asked again later, a bounded number of times; an import
that stops halfway says what it wrote and what it did not, and running it again finishes the job without
writing anything twice. Nothing here sleeps: the retry policy's sleep is recorded (conftest.retry_waits)."""

from __future__ import annotations

import email.utils
import json
from collections import Counter

import pytest

from tools.migrate import cli, model, transport
from tools.migrate.errors import ImportAborted, MigrateError
from tools.migrate.retry import RetryPolicy, retry_after_seconds
from tools.migrate.transport import Transport

from tests.migrate.test_migrate_v1_http import FakeAirflow2, target, write_file

NOW = 1_900_000_000.0  # a fixed "now" for HTTP-dates


# --- the policy -------------------------------------------------------------------------------------------------


def test_retry_after_takes_seconds_or_an_http_date():
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds(" 0 ", NOW) == 0
    assert retry_after_seconds(email.utils.formatdate(NOW + 42, usegmt=True), NOW) == 42
    assert retry_after_seconds(email.utils.formatdate(NOW - 42, usegmt=True), NOW) == 0  # already past: now
    for unreadable in (None, "", "soon", "-5", "1.5", "٣", "Wed, 21 Oct 2015 07:28:00"):  # last: no zone
        assert retry_after_seconds(unreadable, NOW) is None, unreadable


def test_backoff_is_exponential_with_full_jitter_capped_and_bounded():
    asked = []
    policy = RetryPolicy(attempts=7, base=0.5, cap=8.0, uniform=lambda low, high: asked.append((low, high)) or high / 2)
    waits = [policy.wait_before(n, None) for n in range(1, 8)]
    assert asked == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 8.0)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, None]  # the 7th try was the last


def test_retry_after_is_honoured_up_to_max_wait():
    policy = RetryPolicy(max_wait=120.0, clock=lambda: NOW, uniform=lambda low, high: pytest.fail("jitter used"))
    assert policy.wait_before(1, "7") == 7
    assert policy.wait_before(1, email.utils.formatdate(NOW + 90, usegmt=True)) == 90
    assert policy.wait_before(1, "3600") is None  # the server asks for an hour: give up instead of hanging


# --- the transports ---------------------------------------------------------------------------------------------


class Scripted(Transport):
    """Answers each request with the next (status, Retry-After) of a script; counts what it was sent."""

    api, airflow_version, label = "v2", "3.3.1", "scripted"

    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    def send(self, method, path, params, body):
        self.sent.append((method, path))
        status, retry_after = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return status, {"variables": [], "total_entries": 0} if status == 200 else {"detail": "busy"}, retry_after


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_busy_or_failing_server_is_asked_again_after_a_growing_wait(retry_waits, status):
    t = Scripted((status, None), (status, None), (200, None))
    assert t.request("GET", "/variables") == (200, {"variables": [], "total_entries": 0})
    assert len(t.sent) == 3 and retry_waits == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 501])
def test_other_answers_are_not_retried(retry_waits, status):
    t = Scripted((status, None), (200, None))
    assert t.request("GET", "/variables")[0] == status
    assert len(t.sent) == 1 and retry_waits == []


def test_retries_are_bounded(retry_waits):
    t = Scripted((503, None))
    assert t.request("GET", "/variables")[0] == 503
    assert len(t.sent) == 5 and retry_waits == [0.5, 1.0, 2.0, 4.0]


def test_a_failing_bulk_write_costs_a_few_requests_not_one_per_item(retry_waits):
    from tools.migrate.api import AirflowApi
    from tools.migrate.ops import run_import
    from tools.migrate.sensitive import Scrubber, SensitiveNames

    t = Scripted((200, None), (503, None))  # the read answers, then every write fails
    items = [model.make_item("variables", {"key": f"k{i:03d}", "value": "v"}) for i in range(500)]
    api = AirflowApi(t, SensitiveNames(), Scrubber(), batch_size=500)
    try:
        with pytest.raises(ImportAborted) as caught:
            run_import(api, {"variables": items}, ["variables"], overwrite=False, allow_incomplete=False,
                       dry_run=False)
    finally:
        api.close()
    writes = [s for s in t.sent if s[0] == "PATCH"]
    assert len(writes) == 5  # before: the batch was split down to single items, about 1,000 requests
    assert str(caught.value) == "scripted: PATCH /variables answered 503 (after 5 tries) busy"
    assert caught.value.progress["variables"]["not_written"] == [f"k{i:03d}" for i in range(500)]


def test_http_transport_honours_retry_after_from_the_response(monkeypatch, tmp_path, capsys):
    waits = []
    monkeypatch.setattr(transport.Transport, "retry", RetryPolicy(sleep=waits.append, clock=lambda: NOW))
    monkeypatch.setenv("FAKE2_PW", "pw-admin-2x")
    server = FakeAirflow2()
    try:
        server.fail_next = [(503, {"Retry-After": "3"}),
                            (429, {"Retry-After": email.utils.formatdate(NOW + 11, usegmt=True)})]
        path = write_file(tmp_path, pools=[{"name": "p", "slots": 2, "description": None, "include_deferred": False}])
        assert cli.main(["import", path, *target(server), "--workers", "1"]) == 0, capsys.readouterr().err
    finally:
        server.close()
    assert waits == [3.0, 11.0]
    assert server.pools["p"]["slots"] == 2


# --- an import that stops halfway -------------------------------------------------------------------------------


class FakeAirflow3(Transport):
    """An Airflow 3 API in memory: paged reads, bulk create (skip/overwrite), PATCH /dags/{id}. ``cut_after``: the
    n-th write request is carried out, but its answer never arrives (a timeout)."""

    api, airflow_version, label, max_workers = "v2", "3.3.1", "http://fake3", 1

    def __init__(self):
        self.store = {"variables": {}, "connections": {}, "pools": {}, "dags": {
            "etl": {"dag_id": "etl", "is_paused": True}, "report": {"dag_id": "report", "is_paused": True}}}
        self.written = Counter()  # (kind, key) -> times written
        self.writes, self.cut_after = 0, None

    def send(self, method, path, params, body):
        kind, _, key = path.strip("/").partition("/")
        store = self.store[kind]
        if method == "GET":
            rows = [dict(v) for _, v in sorted(store.items())]
            offset, limit = params["offset"], params["limit"]
            return 200, {kind: rows[offset:offset + limit], "total_entries": len(rows)}, None
        self.writes += 1
        if key:  # PATCH /dags/{id}
            store[key].update(body)
            self.written[(kind, key)] += 1
            answer = {**store[key]}
        else:
            action = body["actions"][0]
            success = []
            for entity in action["entities"]:
                name = entity[model.KEY[kind]]
                if name in store and action["action_on_existence"] == "skip":
                    continue
                store[name] = dict(entity)
                self.written[(kind, name)] += 1
                success.append(name)
            answer = {"create": {"success": success, "errors": []}}
        if self.writes == self.cut_after:
            raise MigrateError(f"Airflow API at {self.label} did not answer within 120s")
        return 200, answer, None


def test_an_import_cut_short_says_what_it_wrote_and_a_second_run_finishes_it(tmp_path, capsys, monkeypatch):
    fake = FakeAirflow3()
    monkeypatch.setattr(cli, "HttpTransport", lambda *a, **kw: fake)
    monkeypatch.setenv("FAKE3_TOKEN", "tok")
    variables = [{"key": k, "value": f"value-{k}", "description": None} for k in "abcdefg"]
    pools = [{"name": n, "slots": 3, "description": None, "include_deferred": False} for n in ("p1", "p2")]
    dags = [{"dag_id": "etl", "is_paused": False}, {"dag_id": "report", "is_paused": False}]
    path = write_file(tmp_path, variables=variables, pools=pools, dags=dags)
    command = ["import", path, "--target-url", "http://fake3", "--target-token-env", "FAKE3_TOKEN", "--batch-size", "2"]

    fake.cut_after = 3  # variables go in batches of two: a+b and c+d are answered, e+f is written unanswered
    assert cli.main(command) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: Airflow API at http://fake3 did not answer within 120s",
        "The import stopped before it finished. Written so far, per kind:",
        "  variables: written 4: a, b, c, d",
        "  variables: not written (or not confirmed) 3: e, f, g",
        "  pools: written 0",
        "  pools: not written (or not confirmed) 2: p1, p2",
        "  dags: written 0",
        "  dags: not written (or not confirmed) 2: etl, report",
        "To finish, run the same command again: what was written now matches the file and is left as it is; "
        "only the rest is written.",
    ]

    fake.cut_after = None
    assert cli.main([*command, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kinds"]["variables"]["created"] == ["g"]  # e and f arrived with the cut request
    assert summary["kinds"]["variables"]["unchanged"] == ["a", "b", "c", "d", "e", "f"]
    assert summary["kinds"]["pools"]["created"] == ["p1", "p2"]
    assert summary["kinds"]["dags"]["paused_state_set"] == {"etl": False, "report": False}
    # Every item is on the target as in the file, each written exactly once over the two runs.
    assert {k: v["value"] for k, v in fake.store["variables"].items()} == {v["key"]: v["value"] for v in variables}
    assert set(fake.written.values()) == {1} and len(fake.written) == len(variables) + len(pools) + len(dags)

    assert cli.main(command) == 0  # a third run has nothing left to do
    assert set(fake.written.values()) == {1}


def test_an_aborted_import_reports_as_json_too(tmp_path, capsys, monkeypatch):
    fake = FakeAirflow3()
    fake.cut_after = 1
    monkeypatch.setattr(cli, "HttpTransport", lambda *a, **kw: fake)
    monkeypatch.setenv("FAKE3_TOKEN", "tok")
    path = write_file(tmp_path, variables=[{"key": "a", "value": "1", "description": None}],
                      dags=[{"dag_id": "etl", "is_paused": False}])
    assert cli.main(["import", path, "--target-url", "http://fake3", "--target-token-env", "FAKE3_TOKEN",
                     "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"command": "import", "aborted": "Airflow API at http://fake3 did not answer within 120s",
                               "kinds": {"variables": {"written": [], "failed": [], "not_written": ["a"]},
                                         "dags": {"written": [], "failed": [], "not_written": ["etl"]}}}
    assert err.startswith("error: Airflow API at http://fake3 did not answer within 120s\n")
