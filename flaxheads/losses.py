"""Per-element losses in Estimator's exact form."""

from flaxheads._src.losses import log_poisson_loss, sigmoid_cross_entropy

__all__ = ('log_poisson_loss', 'sigmoid_cross_entropy')
