"""Thin wiring of library steps into jobs: ingest, KPIs, synthetic data, demo, and the CLI."""
