"""Weight initialisers: each fills one layer's coefs and intercepts in place.

``glorot_uniform`` reproduces scikit-learn's draw exactly (same bound, same order of
random numbers, intercepts drawn from the same range), so a default network starts
from the same weights as MLPClassifier / MLPRegressor with the same random_state.
The other schemes draw the coefs from their distribution and start the intercepts at
zero. The registry (``_registry.INITIALIZERS``) names them.
"""

import numpy as np


def glorot_uniform(coef, intercept, glorot_factor, random_state):
    fan_in, fan_out = coef.shape
    bound = np.sqrt(glorot_factor / (fan_in + fan_out))
    coef[...] = random_state.uniform(-bound, bound, coef.shape)
    intercept[...] = random_state.uniform(-bound, bound, intercept.shape)


def normal(std_of_fans):
    """A scheme drawing the coefs from ``N(0, std_of_fans(fan_in, fan_out))``."""

    def init(coef, intercept, glorot_factor, random_state):
        coef[...] = random_state.normal(0.0, std_of_fans(*coef.shape), coef.shape)
        intercept[...] = 0.0

    return init


def uniform(bound_of_fans):
    """A scheme drawing the coefs uniformly within ``+-bound_of_fans(fan_in, fan_out)``."""

    def init(coef, intercept, glorot_factor, random_state):
        bound = bound_of_fans(*coef.shape)
        coef[...] = random_state.uniform(-bound, bound, coef.shape)
        intercept[...] = 0.0

    return init
