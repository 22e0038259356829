"""Training configs for tests that need real champions, not good ones (quick, two folds)."""

SMALL_DISRUPTION = """
model: disruption
backtest:
  folds: 2
  test_days: 90
  min_train_days: 180
"""
SMALL_OTD = """
model: otd
backtest: {folds: 2}
lightgbm: {n_estimators: 80, learning_rate: 0.1, num_leaves: 7, min_child_samples: 20}
early_stopping_rounds: 15
"""
