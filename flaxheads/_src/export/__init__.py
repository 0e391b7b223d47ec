"""Served models: a TF SavedModel with Estimator's signatures and a ``jax.export`` artifact."""
