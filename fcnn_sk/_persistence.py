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
LAYOUT = 1

#: ``UPGRADES[n](state) -> state``: a saved state of layout n in layout n + 1.
UPGRADES = {}

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
