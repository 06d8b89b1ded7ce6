"""Softmax cross-entropy, forward beside backward."""

from __future__ import annotations

import numpy as np

__all__ = ["SoftmaxCrossEntropy"]


class SoftmaxCrossEntropy:
    """Mean cross-entropy of the softmax of logits against integer labels.

    ``loss = mean_i( logsumexp(z_i) - z_i[y_i] )``; its gradient with respect
    to the logits is ``(softmax(z) - onehot(y)) / batch``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.train import SoftmaxCrossEntropy
    >>> ce = SoftmaxCrossEntropy()
    >>> round(float(ce.forward(np.zeros((2, 4)), np.array([0, 3]))), 6)  # log 4
    1.386294
    >>> ce.backward().tolist()
    [[-0.375, 0.125, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]]
    """

    def forward(self, logits, labels):
        """logits (batch, classes), labels (batch,) ints -> scalar loss, in the logits' dtype."""
        # 1) subtract the row maximum: exp cannot overflow, and softmax is unchanged
        shifted = logits - logits.max(axis=1, keepdims=True)
        # 2) log-softmax and the probabilities
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_sum  # (batch, classes)
        self.probs = np.exp(log_probs)
        self.labels = np.asarray(labels)
        # 3) mean negative log-likelihood of the true class
        return -log_probs[np.arange(len(self.labels)), self.labels].mean()

    def backward(self):
        """dL/dlogits (batch, classes)."""
        grad = self.probs.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        return grad / grad.dtype.type(len(self.labels))
