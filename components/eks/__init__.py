"""target=eks: self-managed Airflow on EKS with the official Helm chart."""

from .component import EksAirflow, EksAirflowArgs

__all__ = ["EksAirflow", "EksAirflowArgs"]
