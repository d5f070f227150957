"""Move Airflow metadata (variables, connections, pools, DAG paused state) between deployments.

Run ``python -m tools.migrate --help``; the runbook is docs/migration.md.
"""
