"""The MLflow pyfunc wrapper: feature rows in, late probability and delay quantiles out.

Input rows are the point-in-time feature frame built by
``supplierrisk.features.build_line_features`` (canonical line fields such as
``ship_mode`` keep their names and arrive as plain text). MLflow signatures have
no category type, so the model casts categoricals to its training categories
itself; unseen values become missing rather than wrong codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from mlflow.pyfunc import PythonModel

MODEL_FILE = "model.joblib"


def save_model_object(model: object, folder: Path) -> Path:
    """Pickle a fitted model object for the pyfunc's artifacts."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    joblib.dump(model, path)
    return path


class ModelPyfunc(PythonModel):
    """Loads the pickled supplierrisk model and calls its ``predict``."""

    def load_context(self, context: Any) -> None:
        """Load the model object from the run's artifacts."""
        self.model = joblib.load(context.artifacts["model"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Predictions for feature rows."""
        return self.model.predict(model_input).reset_index(drop=True)

    def unwrap(self) -> Any:
        """The underlying supplierrisk model (for contributions and fast paths)."""
        return self.model
