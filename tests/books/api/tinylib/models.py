"""Models built on a framework that is not installed where the book is built."""

import math

import not_installed_framework as framework
from not_installed_framework import nn


class Model(nn.Module):
    """A linear model on top of the framework's module class."""

    def __init__(self, width=2):
        super().__init__()
        self.width = width

    def forward(self, inputs):
        """Apply the model to ``inputs``."""
        return framework.matmul(inputs, self.width)


def train(model, epochs=3, learning_rate=0.1):
    """Train ``model`` for ``epochs`` passes with ``learning_rate``."""
    return math.sqrt(epochs * learning_rate)


@framework.jit
def compiled_step(model, batch_size=8):
    """One step, compiled by the framework's decorator."""
    return batch_size
