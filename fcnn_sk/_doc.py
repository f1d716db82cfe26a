"""The parameter documentation shared by both estimators, written once; the lists of
options come from the registries."""

import textwrap

from ._registry import ACTIVATIONS, INITIALIZERS, LOSSES, SCHEDULES, SOLVERS, losses_for

COMMON_PARAMETERS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        The ith element is the number of neurons in the ith hidden layer. ``()`` means
        no hidden layer: a linear (regressor) or logistic (classifier) model.

    activation : str or list of str, default='relu'
        Activation of the hidden layers, one name for all or one per hidden layer:

{activations}

    solver : {{{solver_names}}}, default='adam'
        The solver for weight optimisation:

{solvers}

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the intercepts), divided by the
        sum of sample weights of the batch, as in scikit-learn.

    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is ``min(200, n_samples)``.

    learning_rate : {{{schedule_names}}}, \
            default='constant'
        Learning-rate schedule, for every stochastic solver (scikit-learn applies it
        to 'sgd' only):

{schedules}

    learning_rate_init : float, default=0.001
        Initial learning rate of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch (stochastic solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling, the dropout masks and the
        early-stopping split. A continued training (``warm_start``, ``partial_fit``)
        goes on with its own random stream unless ``random_state`` was changed.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement (stochastic solvers)
        and the gradient tolerance of lbfgs.

    verbose : bool, default=False
        Print the loss (and validation score) after each epoch.

    warm_start : bool, default=False
        Start from the previous solution. Unlike scikit-learn, the training state
        (momentum velocity, Adam moments and step count, learning rate, the random
        stream of shuffling and dropout) is kept too, so several warm-started fits
        train exactly as one longer fit would.

    momentum : float, default=0.9
        Momentum of 'sgd', in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum ('sgd' with momentum > 0).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when its score has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of
        the best epoch (stochastic solvers). Classifiers stratify the split.

    validation_fraction : float, default=0.1
        Proportion of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        Numerical stability constant of Adam.

    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping (stochastic solvers).

    max_fun : int, default=15000
        Maximum number of loss evaluations of lbfgs.

    dropout : float or list of float, default=None
        Inverted dropout rate of the hidden layers' outputs, one for all or one per
        hidden layer, in [0, 1). Training only: prediction is deterministic. Masks
        come from a generator seeded by ``random_state``.

    input_dropout : float, default=0.0
        Inverted dropout rate of the input features, in [0, 1) (dense X only).

    negative_slope : float, default=0.01
        Slope of 'leaky_relu' below zero.

    weight_init : {{{initializer_names}}}, \
            default='glorot_uniform'
        Initialisation of the weights (He schemes suit ReLU-like activations):

{initializers}

    rho : float, default=0.9
        Decay rate of RMSprop's mean of squared gradients, in [0, 1).

    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW / SGDW): each step multiplies the weights (not
        the intercepts) by ``1 - learning_rate * weight_decay``, independently of
        ``alpha``.

    max_grad_norm : float, default=None
        Clip the global norm of each step's gradient (L2 term included) to this
        value; None disables clipping.

    validation_metric : {{'score', 'loss'}}, default='score'
        What early stopping and the 'plateau' schedule watch on validation data:
        the score (accuracy / R^2, higher is better) or the loss (lower is better).
"""

COMMON_ATTRIBUTES = """
    loss_ : float
        The loss of the last epoch (stochastic solvers, averaged over the epoch's
        batches as scikit-learn does) or of the solution (lbfgs).

    best_loss_ : float or None
        The lowest training loss reached (stochastic solvers without early stopping).

    loss_curve_ : list of float
        The loss after each epoch (stochastic solvers).

    validation_scores_ : list of float or None
        The validation score after each epoch, whenever there is validation data
        (early stopping, or ``X_val`` given to ``fit``).

    validation_loss_curve_ : list of float or None
        The validation loss (L2 term included, no dropout) after each epoch,
        whenever there is validation data.

    best_validation_score_ : float or None
        With early stopping: the validation score of the best epoch (the best by
        ``validation_metric``), whose weights the model keeps.

    grad_norm_curve_ : ndarray of shape (n_epochs, `n_layers_` - 1)
        Per epoch and weight layer, the norm of the weights' gradient averaged over
        the epoch's steps (stochastic solvers): vanishing or exploding gradients at
        a glance.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray of shape (n_in, n_out)
        Weight matrices; ``coefs_[i]`` maps layer i to layer i + 1. Views into one
        flat parameter buffer, in the training data's float dtype.

    intercepts_ : list of ndarray of shape (n_out,)
        Bias vectors, views into the same buffer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X has string column names.

    n_iter_ : int
        Number of epochs (or lbfgs iterations) run by the last fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.
"""


def _items(table, indent=8):
    """A bullet per registry entry, ``- 'name': doc;``, wrapped."""
    items = [f"- '{name}': {entry.doc};" for name, entry in table.items()]
    items[-1] = items[-1][:-1] + "."
    pad = " " * indent
    return "\n".join(
        textwrap.fill(item, 88, initial_indent=pad, subsequent_indent=pad + "  ")
        for item in items
    )


def _names(table):
    return ", ".join(f"'{name}'" for name in table)


def registry_docs(**extra):
    """The docstring fields generated from the registries."""
    return {
        "activations": _items(ACTIVATIONS),
        "solvers": _items(SOLVERS),
        "solver_names": _names(SOLVERS),
        "schedules": _items(SCHEDULES),
        "schedule_names": _names(SCHEDULES),
        "initializers": _items(INITIALIZERS),
        "initializer_names": _names(INITIALIZERS),
        "regression_losses": _items({n: LOSSES[n] for n in losses_for("regression")}),
        "regression_loss_names": _names({n: 0 for n in losses_for("regression")}),
        **extra,
    }


def fill_doc(cls):
    """Insert the shared sections, and the option lists of the registries, into a
    class docstring's placeholders."""
    fields = registry_docs(
        common_parameters=COMMON_PARAMETERS.strip().format(**registry_docs()),
        common_attributes=COMMON_ATTRIBUTES.strip(),
    )
    cls.__doc__ = cls.__doc__.format(**fields)
    return cls
