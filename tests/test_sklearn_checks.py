"""scikit-learn's own estimator checks (``parametrize_with_checks``).

Every solver is checked for both estimators, plus a two-hidden-layer net and the
linear model (``hidden_layer_sizes=()``). Settings are small so the whole module
runs in a few tens of seconds.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fcnn_sk import FCNNClassifier, FCNNRegressor

ESTIMATORS = [
    FCNNClassifier((20,), solver="adam", max_iter=200, random_state=0),
    FCNNClassifier((20,), solver="sgd", max_iter=200, random_state=0),
    # alpha keeps lbfgs from saturating sigmoids to exactly 1.0 in the multilabel
    # predict_proba check (which requires 0 < p < 1 strictly)
    FCNNClassifier((20,), solver="lbfgs", alpha=1.0, max_iter=200, random_state=0),
    FCNNClassifier((8, 6), activation="tanh", max_iter=200, random_state=0),
    FCNNRegressor((20,), solver="adam", max_iter=200, random_state=0),
    FCNNRegressor((20,), solver="sgd", max_iter=200, random_state=0),
    FCNNRegressor((20,), solver="lbfgs", max_iter=200, random_state=0),
    FCNNRegressor((), activation="identity", solver="lbfgs", max_iter=200, random_state=0),
]


def _expected_failed_checks(estimator):
    # Nothing is expected to fail. Keep this hook (with a written reason per check)
    # rather than silently dropping checks.
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
