"""The official Airflow chart as this repository ships it: provenance of the vendored copies (provenance.py), a real
helm (helm.py), rendering with the program's values (render.py) and what the rendered objects refer to
(references.py). Read-only: nothing here changes the plan or the chart."""
