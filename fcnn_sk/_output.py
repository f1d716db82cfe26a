"""pandas and polars output of ``transform``: ``set_output`` and
``get_feature_names_out``.

scikit-learn's ``_SetOutputMixin`` wraps ``transform`` and ``fit_transform`` and names
the columns with ``get_feature_names_out()``, called without arguments. A network's
``transform(X, layer=...)`` returns a layer chosen per call, whose width and names
depend on it, so this mixin wraps both methods itself and names the columns of the
layer the call returned. ``set_output`` is scikit-learn's, and the global
``set_config(transform_output=...)`` applies as for any transformer.
"""

from functools import wraps
from numbers import Integral

import numpy as np
from sklearn.utils._set_output import (
    ADAPTERS_MANAGER,
    _get_output_config,
    _SetOutputMixin,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted


def _has_transform(estimator):
    # get_feature_names_out exists exactly where transform does (a hidden layer)
    return hasattr(estimator, "transform")


class LayerOutputMixin(_SetOutputMixin):
    """``set_output`` for ``transform(X, layer=-1)`` and ``fit_transform``, and the
    matching ``get_feature_names_out(input_features=None, *, layer=-1)``."""

    def __init_subclass__(cls, **kwargs):
        # scikit-learn's own wrapping off, then ours, which knows the layer
        super().__init_subclass__(auto_wrap_output_keys=None, **kwargs)
        cls._sklearn_auto_wrap_output_keys = {"transform"}
        for method in ("transform", "fit_transform"):
            if method in cls.__dict__:
                setattr(cls, method, _wrap_output(cls.__dict__[method], method))

    @available_if(_has_transform)
    def get_feature_names_out(self, input_features=None, *, layer=-1):
        """Names of the features ``transform(X, layer=layer)`` returns.

        ``<class name>_layer<k>_<j>`` in lower case, for unit ``j`` of hidden layer
        ``k`` (counted from 0, whichever sign ``layer`` has): the same for every fit
        of the same architecture, and distinct across layers.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_`` (the names do not depend on
            them).
        layer : int, default=-1
            Index of the hidden layer, as in ``transform`` (-1 is the last).

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per unit of the layer.

        Examples
        --------
        >>> import numpy as np
        >>> from fcnn_sk import FCNNRegressor
        >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
        >>> reg = FCNNRegressor((3, 2), max_iter=5, random_state=0).fit(X, y)
        >>> reg.get_feature_names_out().tolist()
        ['fcnnregressor_layer1_0', 'fcnnregressor_layer1_1']
        >>> reg.get_feature_names_out(layer=0).tolist()
        ['fcnnregressor_layer0_0', 'fcnnregressor_layer0_1', 'fcnnregressor_layer0_2']
        """
        check_is_fitted(self)
        k = hidden_layer_index(self, layer)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = f"{type(self).__name__.lower()}_layer{k}_"
        return np.asarray(
            [f"{prefix}{j}" for j in range(self.coefs_[k].shape[1])], dtype=object
        )


def hidden_layer_index(estimator, layer):
    """The hidden layer ``layer`` designates (0-based, non-negative) in the fitted
    ``estimator``; a ValueError names a bad one."""
    n_hidden = estimator.n_layers_ - 2
    if n_hidden == 0:
        raise ValueError("The fitted network has no hidden layer to transform to.")
    if (
        not isinstance(layer, Integral | np.integer)
        or not -n_hidden <= layer < n_hidden
    ):
        raise ValueError(
            f"layer must be an integer in [{-n_hidden}, {n_hidden}), got {layer!r}."
        )
    return int(layer) % n_hidden


def _wrap_output(method, name):
    """``method`` (a function or an ``available_if`` descriptor) returning the
    container ``set_output`` asks for, with the columns of the layer returned."""
    check = getattr(method, "check", None)
    function = method.fn if check is not None else method

    @wraps(function)
    def wrapped(self, X, *args, **kwargs):
        out = function(self, X, *args, **kwargs)
        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return out
        if name == "transform":
            layer = args[0] if args else kwargs.get("layer", -1)
        else:
            layer = -1  # fit_transform returns the last hidden layer
        return ADAPTERS_MANAGER.adapters[dense].create_container(
            out, X, columns=lambda: self.get_feature_names_out(layer=layer)
        )

    return available_if(check)(wrapped) if check is not None else wrapped
