"""The model kinds and how each is trained: one entry per registered model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from supplierrisk.features import Tolerances
from supplierrisk.modeling.backtest import BacktestResult, Fold
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.disruption import rerun_disruption_backtest, train_disruption
from supplierrisk.modeling.otd import rerun_otd_backtest, train_otd
from supplierrisk.modeling.training import Training

TrainFunction = Callable[[pd.DataFrame, pd.Timestamp, TrainConfig, Tolerances], Training]
RerunFunction = Callable[[pd.DataFrame, pd.Timestamp, TrainConfig, Tolerances, list[Fold]], BacktestResult]


@dataclass(frozen=True)
class Recipe:
    """How to train a model kind and re-run another config of it on the same folds."""

    kind: str
    title: str
    train: TrainFunction
    rerun_backtest: RerunFunction


RECIPES: dict[str, Recipe] = {
    "otd": Recipe("otd", "on-time-delivery model", train_otd, rerun_otd_backtest),
    "disruption": Recipe("disruption", "disruption-risk model", train_disruption, rerun_disruption_backtest),
}
