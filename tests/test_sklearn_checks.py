"""scikit-learn's own estimator checks (``parametrize_with_checks``).

Every registered solver is checked for both estimators, and every registered
regression loss, plus a two-hidden-layer net and the linear model
(``hidden_layer_sizes=()``). Settings are small so the whole module runs in a few
tens of seconds.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import SOLVERS, losses_for

# alpha keeps lbfgs from saturating sigmoids to exactly 1.0 in the multilabel
# predict_proba check (which requires 0 < p < 1 strictly)
_CLASSIFIER_EXTRA = {"lbfgs": {"alpha": 1.0}}
# the exp link learns the checks' targets more slowly: 200 epochs at 0.001 fall
# short of check_regressors_train's R^2 > 0.5
_LOSS_EXTRA = {"poisson": {"learning_rate_init": 0.01}}

ESTIMATORS = [
    *(
        FCNNClassifier(
            (20,),
            solver=solver,
            max_iter=200,
            random_state=0,
            **_CLASSIFIER_EXTRA.get(solver, {}),
        )
        for solver in SOLVERS
    ),
    FCNNClassifier((8, 6), activation="tanh", max_iter=200, random_state=0),
    *(
        FCNNRegressor((20,), solver=solver, max_iter=200, random_state=0)
        for solver in SOLVERS
    ),
    *(
        FCNNRegressor(
            (20,), loss=loss, max_iter=200, random_state=0, **_LOSS_EXTRA.get(loss, {})
        )
        for loss in losses_for("regression")
        if loss != "squared_error"
    ),
    FCNNRegressor(
        (), activation="identity", solver="lbfgs", max_iter=200, random_state=0
    ),
]


def _expected_failed_checks(estimator):
    # Nothing is expected to fail. Keep this hook (with a written reason per check)
    # rather than silently dropping checks.
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
