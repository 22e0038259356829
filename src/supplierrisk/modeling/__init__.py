"""Models: labels, rolling-origin backtests, candidates beside baselines, the gate, scoring with drivers."""
