"""The nightly batch: score open lines and suppliers, compute KPIs, publish a folder and results rows."""
