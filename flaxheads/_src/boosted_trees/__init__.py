"""Heads as the objective and the metrics of gradient boosted trees (XGBoost, LightGBM, dask)."""
