"""Versioned state of the estimators, for pickle, joblib and skops.

The state a model saves (``__getstate__``) carries two stamps: ``_fcnn_sk_layout``, the
version of the layout of its attributes, and ``_fcnn_sk_version``, the fcnn_sk version
that wrote it. ``__setstate__`` restores a model of the current layout as it is, brings
an older layout up to date with the functions of ``UPGRADES``, one layout at a time,
and raises a ValueError naming both versions where it cannot (a newer layout, or an
older one without an upgrade), so that a file never loads as a silently wrong model.

Whoever changes what the fitted attributes hold or mean increments ``LAYOUT`` and adds
``UPGRADES[LAYOUT - 1]`` if old files can be converted. Models saved before the stamps
existed have layout 1.
"""

#: Version of the layout of the estimators' saved attributes.
LAYOUT = 2


def _layout_1_to_2(state):
    """Layout 1 kept the stochastic solvers' training state in separate attributes
    (``_optimizer`` with ``state_1``/``state_2``, ``_random_state``, the stopping
    rule's ``_no_improvement_count``, ``_best_monitored``, ``_best_params``);
    layout 2 keeps it in one ``_training`` (``_training.TrainingState``)."""
    from ._optim import StochasticOptimizer
    from ._training import Monitor, TrainingState

    old = state.pop("_optimizer", None)
    random_state = state.pop("_random_state", None)
    count = state.pop("_no_improvement_count", 0)
    best_watched = state.pop("_best_monitored", float("-inf"))
    best_params = state.pop("_best_params", None)
    state["_training"] = None
    state["_lbfgs_memory"] = None
    if old is None:
        return state
    o = vars(old)
    optimizer = StochasticOptimizer.__new__(StochasticOptimizer)
    optimizer.solver_name, optimizer.schedule_name = o["solver"], o["schedule"]
    optimizer.hyper = {
        "learning_rate_init": o["learning_rate_init"],
        "power_t": o["power_t"],
    }  # the rest is read at the next fit
    optimizer.learning_rate, optimizer.step = o["learning_rate"], o["step"]
    optimizer.state = (
        [o["state_1"], o["state_2"]] if o["solver"] == "adam" else [o["state_1"]]
    )
    monitor = Monitor(state.get("tol", 1e-4), state.get("early_stopping", False))
    monitor.count, monitor.best_watched = count, best_watched
    monitor.best_loss = state.get("best_loss_", monitor.best_loss)
    monitor.best_score = state.get("best_validation_score_", monitor.best_score)
    monitor.best_params = best_params if monitor.early_stopping else None
    training = TrainingState(optimizer, random_state, monitor)
    # layout 1 seeded a new stream at every call: the next one does so too (no
    # random_state parameter is this string)
    training.seeded_from = "layout 1: a new stream at every call"
    state["_training"] = training
    return state


#: ``UPGRADES[n](state) -> state``: a saved state of layout n in layout n + 1.
UPGRADES = {1: _layout_1_to_2}

_LAYOUT_KEY = "_fcnn_sk_layout"
_VERSION_KEY = "_fcnn_sk_version"


def _current_version():
    from . import __version__

    return __version__


def stamp(state):
    """A copy of the state dict ``state`` with the layout and version stamps."""
    state = dict(state)
    state[_LAYOUT_KEY] = LAYOUT
    state[_VERSION_KEY] = _current_version()
    return state


def restore(cls_name, state):
    """The state to restore, in the current layout, without the stamps.

    Raises
    ------
    ValueError
        If the state's layout is newer than this version's, or older without an
        upgrade; the message names both fcnn_sk versions and layouts.
    """
    state = dict(state)
    layout = state.pop(_LAYOUT_KEY, 1)
    written_by = state.pop(_VERSION_KEY, "unknown")
    if layout == LAYOUT:
        return state
    here = f"fcnn_sk {_current_version()} (model layout {LAYOUT})"
    there = f"fcnn_sk {written_by} (model layout {layout})"
    if not isinstance(layout, int) or layout > LAYOUT:
        raise ValueError(
            f"This {cls_name} was saved by {there}; {here} cannot read it. Load it "
            f"with fcnn_sk {written_by} or later."
        )
    for n in range(layout, LAYOUT):
        if n not in UPGRADES:
            raise ValueError(
                f"This {cls_name} was saved by {there}; {here} cannot upgrade it. Load "
                f"it with fcnn_sk {written_by} and refit it, or save its coefs_ and "
                "intercepts_."
            )
        state = UPGRADES[n](state)
    return state
