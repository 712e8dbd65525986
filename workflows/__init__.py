"""Prefect flows and their deployments. ``python -m workflows.serve`` serves them
against the Prefect server named by PREFECT_API_URL."""
