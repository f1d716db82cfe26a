"""The registries: one table per concept, read by everything else.

Each entry holds what every layer needs to know about one option: its name, the
estimator parameters it reads, what it implies (an activation's initialisation gain,
a loss's output link, a solver's state buffers, a schedule's rule) and a one-line
doc. Parameter validation (``_parameter_constraints``), kernel dispatch (the names
are the compiled kernels' keys), the parameter docs (``_doc.py``) and the tests'
parametrisations all read these tables, so an option added here is validated,
documented and tested everywhere; a completeness test fails when an entry has no
compiled kernel, no oracle counterpart or no doc.

Adding an activation: its function and derivative in ``csrc/_activations.pxd`` (and
its code in the kernels' name table), one ``Activation`` entry here, its line in the
test oracle (``tests/_reference.py``). A loss, a solver: likewise in
``csrc/_losses.pxd`` / ``csrc/_optimizers.pxd``. A schedule or an initialiser is
Python only: one entry here (with its rule) and nothing else.
"""

import math
from dataclasses import dataclass

from . import _onnx_forms as onnx
from ._initializers import glorot_uniform, normal, uniform


def _power(base, exponent):
    """``base ** exponent``, infinite where it overflows a double (a huge power_t
    makes the 'invscaling' rate zero, not an OverflowError)."""
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def _table(*entries):
    """``{entry.name: entry}``, in the order given."""
    return {entry.name: entry for entry in entries}


# ---- hidden-layer activations ---------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation ``f``.

    Attributes
    ----------
    name : str
    doc : str
        ``f(z)`` in words, for the parameter docs.
    onnx : callable
        Its ONNX form, ``onnx(graph, input_name, *, negative_slope) -> output_name``
        (``_onnx_forms.py``).
    params : tuple of str
        Estimator parameters it reads.
    glorot_factor : float
        Numerator of scikit-learn's Glorot bound ``sqrt(factor / (fan_in + fan_out))``
        for a layer feeding this activation.
    """

    name: str
    doc: str
    onnx: object
    params: tuple = ()
    glorot_factor: float = 6.0


ACTIVATIONS = _table(
    Activation("identity", "``z``", onnx.identity),
    Activation(
        "logistic",
        "the logistic sigmoid ``1 / (1 + exp(-z))``",
        onnx.logistic,
        glorot_factor=2.0,
    ),
    Activation("tanh", "the hyperbolic tangent", onnx.tanh),
    Activation("relu", "``max(z, 0)``", onnx.relu),
    Activation(
        "leaky_relu",
        "``z`` above zero, ``negative_slope * z`` below",
        onnx.leaky_relu,
        params=("negative_slope",),
    ),
    Activation("elu", "``z`` above zero, ``exp(z) - 1`` below", onnx.elu),
    Activation(
        "gelu", "``z * Phi(z)``, Phi the normal CDF (exact, with erf)", onnx.gelu
    ),
    Activation("softplus", "``log(1 + exp(z))``", onnx.softplus),
    Activation("swish", "``z * sigmoid(z)``", onnx.swish),
)


# ---- output losses --------------------------------------------------------------------


@dataclass(frozen=True)
class Loss:
    """A loss on the raw outputs, with the output activation (inverse link) it is
    paired with.

    Attributes
    ----------
    name : str
    link : str
        The output activation: 'identity', 'logistic', 'softmax' or 'exp'.
    task : {'classification', 'regression'}
        Which estimator offers it (the classifier chooses its loss from the targets).
    doc : str
    params : tuple of str
        Estimator parameters it reads.
    canonical : bool
        Whether it is the loss whose gradient through ``link`` is ``link(z) - y``,
        the one used to score a model with that output activation.
    """

    name: str
    link: str
    task: str
    doc: str
    params: tuple = ()
    canonical: bool = False


LOSSES = _table(
    Loss(
        "squared_error", "identity", "regression", "half squared error", canonical=True
    ),
    Loss(
        "binary_log_loss",
        "logistic",
        "classification",
        "log-loss of a sigmoid per output (binary and multilabel targets)",
        canonical=True,
    ),
    Loss(
        "log_loss",
        "softmax",
        "classification",
        "multinomial log-loss of a softmax (multiclass targets)",
        canonical=True,
    ),
    Loss(
        "poisson",
        "exp",
        "regression",
        "half Poisson deviance with a log link (targets must be non-negative)",
        canonical=True,
    ),
    Loss("absolute_error", "identity", "regression", "absolute error"),
    Loss(
        "huber",
        "identity",
        "regression",
        "Huber loss: squared within ``huber_delta`` of the target, linear beyond",
        params=("huber_delta",),
    ),
)

#: output activation -> its canonical loss
OUTPUT_LOSSES = {loss.link: name for name, loss in LOSSES.items() if loss.canonical}


def losses_for(task):
    """Names of the losses of one task, in registry order."""
    return tuple(name for name, loss in LOSSES.items() if loss.task == task)


# ---- solvers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Solver:
    """A weight optimiser.

    Attributes
    ----------
    name : str
    doc : str
    stochastic : bool
        Mini-batch epochs (with ``partial_fit``, schedules, early stopping) rather
        than full-batch L-BFGS.
    params : tuple of str
        Estimator parameters it reads, handed to the kernels as typed fields.
    state : tuple of str
        Its flat state buffers, each as long as the parameters.
    """

    name: str
    doc: str
    stochastic: bool = True
    params: tuple = ()
    state: tuple = ()


SOLVERS = _table(
    Solver(
        "lbfgs",
        "L-BFGS on the full data (the iterates of scipy's L-BFGS-B "
        "without bounds, as scikit-learn gets them)",
        stochastic=False,
        params=("max_fun",),
    ),
    Solver(
        "sgd",
        "stochastic gradient descent with momentum",
        params=("momentum", "nesterovs_momentum"),
        state=("velocity",),
    ),
    Solver(
        "adam",
        "Adam",
        params=("beta_1", "beta_2", "epsilon"),
        state=("first_moment", "second_moment"),
    ),
    Solver("rmsprop", "RMSprop", params=("rho", "epsilon"), state=("mean_square",)),
)

STOCHASTIC_SOLVERS = tuple(name for name, s in SOLVERS.items() if s.stochastic)


# ---- learning-rate schedules ----------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule of the stochastic solvers.

    Attributes
    ----------
    name : str
    doc : str
    at_epoch : callable or None
        ``at_epoch(lr_init, epoch, max_iter) -> lr`` before each epoch of a fit
        (``epoch`` 0-based).
    after_epoch : callable or None
        ``after_epoch(lr_init, t, power_t) -> lr`` after each epoch, ``t`` the
        number of samples seen.
    reduces : bool
        Divides the learning rate by 5 when ``n_iter_no_change`` epochs bring no
        improvement, instead of stopping (until it falls below 1e-6).
    watches_validation : bool
        Watches the validation data (by ``validation_metric``) whenever there is
        some, not only with early stopping.
    """

    name: str
    doc: str
    at_epoch: object = None
    after_epoch: object = None
    reduces: bool = False
    watches_validation: bool = False


SCHEDULES = _table(
    Schedule("constant", "``learning_rate_init`` throughout"),
    Schedule(
        "invscaling",
        "``learning_rate_init / (t + 1) ** power_t`` after each epoch, t the "
        "number of samples seen",
        after_epoch=lambda lr, t, power_t: lr / _power(t + 1, power_t),
    ),
    Schedule(
        "adaptive",
        "divided by 5 each time ``n_iter_no_change`` epochs bring no improvement "
        "of the stopping criterion (training loss, or validation score with "
        "early stopping); training stops once it falls below 1e-6",
        reduces=True,
    ),
    Schedule(
        "cosine",
        "cosine annealing from ``learning_rate_init`` towards zero over "
        "``max_iter`` epochs of each fit",
        at_epoch=lambda lr, epoch, max_iter: (
            0.5 * lr * (1 + math.cos(math.pi * epoch / max_iter))
        ),
    ),
    Schedule(
        "plateau",
        "like 'adaptive', but watching the validation data (``X_val`` or the "
        "early-stopping split) by ``validation_metric`` whenever there is some",
        reduces=True,
        watches_validation=True,
    ),
)


# ---- weight initialisers --------------------------------------------------------------


@dataclass(frozen=True)
class Initializer:
    """A weight initialisation scheme.

    Attributes
    ----------
    name : str
    doc : str
    init : callable
        ``init(coef, intercept, glorot_factor, random_state)`` fills one layer in
        place (see ``_initializers.py``).
    """

    name: str
    doc: str
    init: object


INITIALIZERS = _table(
    Initializer(
        "glorot_uniform",
        "scikit-learn's exact draw: uniform within "
        "``sqrt(factor / (fan_in + fan_out))``, intercepts drawn too",
        glorot_uniform,
    ),
    Initializer(
        "glorot_normal",
        "normal, std ``sqrt(2 / (fan_in + fan_out))``",
        normal(lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    ),
    Initializer(
        "he_uniform",
        "uniform within ``sqrt(6 / fan_in)``",
        uniform(lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
    ),
    Initializer(
        "he_normal",
        "normal, std ``sqrt(2 / fan_in)``",
        normal(lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
    ),
    Initializer(
        "lecun_normal",
        "normal, std ``sqrt(1 / fan_in)``",
        normal(lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
    ),
)

#: every registry, by the estimator parameter that names its entries
REGISTRIES = {
    "activation": ACTIVATIONS,
    "loss": LOSSES,
    "solver": SOLVERS,
    "learning_rate": SCHEDULES,
    "weight_init": INITIALIZERS,
}
