"""Offline comparison of the two proposals (Amazon MWAA vs self-managed on EKS): resources, monthly cost, break-even.

Run `python -m tools.compare --stack dev`; see docs/comparison.md.
"""
