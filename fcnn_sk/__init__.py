"""fcnn_sk: fully connected neural networks with compiled kernels, as scikit-learn
estimators (drop-in replacements for MLPClassifier and MLPRegressor)."""

from ._classifier import FCNNClassifier
from ._display import TrainingCurveDisplay
from ._regressor import FCNNRegressor
from ._stream import partial_fit_chunks

__version__ = "0.1.0"
__all__ = [
    "FCNNClassifier",
    "FCNNRegressor",
    "TrainingCurveDisplay",
    "partial_fit_chunks",
    "__version__",
]
