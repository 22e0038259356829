"""supplierrisk: supplier performance KPIs and delivery/disruption risk models from PO history.

The packages read as the data flow; each imports only those below it
(``.importlinter`` checks it in ``make check``)::

    ERP export (CSV, Parquet, Excel)
      -> ingest/        mapping, validation, plan and atomic upsert into the canonical store
      -> features/      point-in-time features of lines and suppliers (one code path)
      -> modeling/      labels, rolling-origin backtests, candidates, gate, scoring with drivers
      -> batch/         the nightly batch: compute, versioned folders, results database
      -> monitoring/    drift (Evidently), performance feedback, the retrain policy
      -> service/       what the API serves: the deployment, sourcing views, API keys

Shared by all stages (flat): ``settings``, ``schema``, ``storage``, ``labels``, ``kpis``,
``scorecard``, ``tracking`` (MLflow), ``synth`` (synthetic histories with known truth), ``logs``.
Jobs (``pipelines/``) and the HTTP layer (``serving/``) sit on top and only wire.
"""

__version__ = "0.1.0"
