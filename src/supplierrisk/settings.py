"""Runtime settings from the environment (``SUPPLIERRISK_*``); built by entry points, never at import."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where things live and the delivery tolerances shared by KPIs, labels and features."""

    model_config = SettingsConfigDict(env_prefix="SUPPLIERRISK_", extra="ignore")

    home: Path = Field(
        default=Path("supplierrisk_home"),
        description="Data home: canonical store, rejects, reports, MLflow database and artifacts.",
    )
    on_time_tolerance_days: int = Field(
        default=0, ge=0, description="A line is on time if delivered by promised + this many days."
    )
    in_full_tolerance: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="In full if received >= ordered x (1 - this)."
    )
    price_variance_tolerance: float = Field(
        default=0.01, ge=0.0, description="Invoice differs from PO price if |inv - po| / po > this."
    )

    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="Any MLflow tracking URI; default a SQLite database in the data home.",
    )
    mlflow_artifact_root: str | None = Field(
        default=None,
        description="Artifact location for new experiments; default <home>/mlartifacts.",
    )

    results_db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the batch results database; default SQLite in the data home.",
    )
    batch_max_days_after_data: int = Field(
        default=7,
        ge=0,
        description="A command's as-of may be at most this many days after the store's last known day.",
    )
    drift_false_alarm_rate: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="Benjamini-Hochberg rate of feature drift: the chance a stable batch flags a feature.",
    )
    drift_calibration_false_alarm_rate: float = Field(
        default=0.01,
        gt=0.0,
        lt=1.0,
        description="Benjamini-Hochberg rate of the calibration alarm over all lines and their segments.",
    )
    drift_reference_batches: int = Field(
        default=8,
        ge=1,
        description="Feature drift compares a batch with the scoring rows of this many earlier batches.",
    )
    drift_null_batches: int = Field(
        default=26,
        ge=1,
        description="Earlier batches whose week-to-week movement calibrates the feature-drift thresholds.",
    )
    drift_min_reference_batches: int = Field(
        default=8,
        ge=1,
        description="Below this many earlier batches, feature drift is shown against training, no alert.",
    )
    drift_evidently: bool = Field(
        default=True,
        description="Run Evidently for the per-column verdicts and pages (off: the same test, no pages).",
    )
    drift_null_draws: int = Field(
        default=50,
        ge=20,
        description="Supplier-clustered bootstrap draws that calibrate each feature's threshold.",
    )
    monitor_auc_margin: float = Field(
        default=0.05, ge=0.0, description="Flag a model whose realised AUC is this far below its backtest."
    )
    monitor_brier_margin: float = Field(
        default=0.02, ge=0.0, description="Flag a model whose realised Brier is this far above its backtest."
    )
    retrain_max_model_age_days: int = Field(
        default=90,
        ge=1,
        description="Recommend a retrain when a champion was trained this long before the batch.",
    )
    drift_min_suppliers: int = Field(
        default=10,
        ge=1,
        description="Feature drift is judged only when a batch scores at least this many suppliers.",
    )
    drift_sample_rows: int = Field(
        default=20_000, ge=100, description="Rows sampled from each side for the drift report."
    )

    api_keys_file: Path | None = Field(
        default=None, description="The API keys file (hashes, roles, names); default <home>/api_keys.json."
    )
    api_auth_disabled: bool = Field(
        default=False,
        description="Development only: serve without API keys (every caller is admin; logged loudly).",
    )
    api_max_lines: int = Field(
        default=10_000, ge=1, description="Most PO lines one scoring request may carry (more: 413)."
    )
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest request body accepted (more: 413)."
    )
    api_max_explained_lines: int = Field(
        default=1_000, ge=1, description="Most lines one request may ask drivers for (they are slow)."
    )
    api_poll_seconds: float = Field(
        default=30.0,
        ge=0.0,
        description="How often the service checks the registry, LATEST and the store, reloading on change"
        " (0: never; reload by hand with POST /v1/admin/reload).",
    )

    ui_session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the workspace's session cookies; default a random secret kept in"
        " <home>/ui_session.key (owner-only), so every worker and restart shares it.",
    )
    ui_session_minutes: int = Field(
        default=480,
        ge=1,
        le=7 * 24 * 60,
        description="A workspace login lasts this long (then log in again).",
    )
    ui_login_attempts: int = Field(
        default=5, ge=1, description="Failed workspace logins allowed per client per window (then 429)."
    )
    ui_login_window_seconds: int = Field(
        default=300, ge=1, description="The window over which failed workspace logins are counted."
    )
    ui_stale_batch_days: int = Field(
        default=2,
        ge=1,
        description="The workspace flags the latest batch as stale when its as-of is more than this many days"
        " old.",
    )
    ui_cookie_secure: bool = Field(
        default=False,
        description="Mark the session cookie Secure (set it when the service is behind HTTPS).",
    )

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI in force."""
        if self.mlflow_tracking_uri:
            return with_driver(self.mlflow_tracking_uri)
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> str:
        """Where new experiments keep their artifacts."""
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        return (self.home / "mlartifacts").resolve().as_uri()

    @property
    def store_path(self) -> Path:
        """The canonical PO-line store (Parquet)."""
        return self.home / "store" / "po_lines.parquet"

    @property
    def rejects_dir(self) -> Path:
        """Where ingest writes rejected rows with reasons."""
        return self.home / "rejects"

    @property
    def reports_dir(self) -> Path:
        """Where ingest and KPI reports go."""
        return self.home / "reports"

    @property
    def batches_dir(self) -> Path:
        """Published batch folders, the LATEST pointer and the batch lock."""
        return self.home / "batches"

    @property
    def log_path(self) -> Path:
        """The run log: library warnings and other diagnostics that are not a command's output."""
        return self.home / "logs" / "supplierrisk.log"

    @property
    def keys_path(self) -> Path:
        """The API keys file in force."""
        return self.api_keys_file if self.api_keys_file is not None else self.home / "api_keys.json"

    @property
    def results_url(self) -> str:
        """The results database URL in force."""
        if self.results_db_url:
            return with_driver(self.results_db_url)
        return f"sqlite:///{(self.home / 'results.db').resolve()}"


def with_driver(url: str) -> str:
    """``postgresql://`` URLs with the PostgreSQL driver we ship (psycopg 3); others unchanged."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def display_url(url: str) -> str:
    """A database URL safe to print: any password masked."""
    if "://" not in url or url.startswith(("file:", "http://", "https://")):
        return url
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
