"""Weight initialisers: one entry per scheme, filling one layer's coefs in place.

'glorot_uniform' reproduces scikit-learn's draw exactly (same bound, same order of
random numbers, intercepts drawn from the same range), so a default FCNN starts from
the same weights as MLPClassifier / MLPRegressor with the same random_state. The other
schemes draw the coefs from their distribution and start the intercepts at zero.
"""

import numpy as np


def _glorot_uniform(coef, intercept, activation, random_state):
    fan_in, fan_out = coef.shape
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    coef[...] = random_state.uniform(-bound, bound, coef.shape)
    intercept[...] = random_state.uniform(-bound, bound, intercept.shape)


def _normal(std_of_fans):
    def init(coef, intercept, activation, random_state):
        coef[...] = random_state.normal(0.0, std_of_fans(*coef.shape), coef.shape)
        intercept[...] = 0.0

    return init


def _uniform(bound_of_fans):
    def init(coef, intercept, activation, random_state):
        bound = bound_of_fans(*coef.shape)
        coef[...] = random_state.uniform(-bound, bound, coef.shape)
        intercept[...] = 0.0

    return init


#: name -> init(coef, intercept, activation, random_state), in place
INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _normal(lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out))),
    "he_uniform": _uniform(lambda fan_in, fan_out: np.sqrt(6.0 / fan_in)),
    "he_normal": _normal(lambda fan_in, fan_out: np.sqrt(2.0 / fan_in)),
    "lecun_normal": _normal(lambda fan_in, fan_out: np.sqrt(1.0 / fan_in)),
}
