"""Monitoring: feature and score drift, performance of past batches against outcomes, the retrain policy."""
