"""Pulumi components: the shared platform and one component per Airflow target."""
