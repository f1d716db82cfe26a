"""fcnn_sk estimators inside the scikit-learn ecosystem: pipelines, model selection,
cloning, parameters and persistence."""

import copy
import io
import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _helpers import assert_params_equal
from fcnn_sk import FCNNClassifier, FCNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_REG, Y_REG = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
Y_REG = (Y_REG - Y_REG.mean()) / Y_REG.std()


def test_estimator_types():
    assert is_classifier(FCNNClassifier())
    assert is_regressor(FCNNRegressor())
    assert FCNNClassifier().__sklearn_tags__().estimator_type == "classifier"
    assert FCNNRegressor().__sklearn_tags__().estimator_type == "regressor"


def test_get_params_matches_sklearn_mlp():
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    # every sklearn parameter exists with the same default (extra parameters allowed)
    for ours, theirs in (
        (FCNNClassifier(), MLPClassifier()),
        (FCNNRegressor(), MLPRegressor()),
    ):
        p_ours, p_theirs = ours.get_params(), theirs.get_params()
        for name, default in p_theirs.items():
            assert name in p_ours, name
            assert p_ours[name] == default, name


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pipeline_classifier(solver):
    pipe = make_pipeline(
        StandardScaler(),
        FCNNClassifier((10,), solver=solver, max_iter=300, random_state=0),
    )
    pipe.fit(X_IRIS, Y_IRIS)
    assert pipe.score(X_IRIS, Y_IRIS) > 0.9
    proba = pipe.predict_proba(X_IRIS)
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(1), 1.0)
    assert_array_equal(pipe.classes_, [0, 1, 2])


def test_pipeline_regressor():
    pipe = make_pipeline(
        StandardScaler(),
        FCNNRegressor((10,), solver="lbfgs", max_iter=300, random_state=0),
    )
    pipe.fit(X_REG, Y_REG)
    assert pipe.score(X_REG, Y_REG) > 0.9
    assert pipe.predict(X_REG).shape == (120,)


def test_cross_val_score_and_predict():
    clf = make_pipeline(
        StandardScaler(), FCNNClassifier((10,), solver="lbfgs", random_state=0)
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(clf, X_IRIS, Y_IRIS, cv=cv)
    assert scores.shape == (3,)
    assert scores.min() > 0.85
    proba = cross_val_predict(clf, X_IRIS, Y_IRIS, cv=cv, method="predict_proba")
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(1), 1.0)

    reg = FCNNRegressor((10,), solver="lbfgs", random_state=0)
    r2 = cross_val_score(reg, X_REG, Y_REG, cv=KFold(3, shuffle=True, random_state=0))
    assert np.isfinite(r2).all() and r2.min() > 0.8


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_grid_search_n_jobs_1_and_2_agree(Est):
    if Est is FCNNClassifier:
        X, y, cv = X_IRIS, Y_IRIS, StratifiedKFold(3, shuffle=True, random_state=0)
    else:
        X, y, cv = X_REG, Y_REG, KFold(3, shuffle=True, random_state=0)
    grid = {"alpha": [1e-4, 1.0], "hidden_layer_sizes": [(3,), (12,)]}
    base = Est(solver="lbfgs", max_iter=100, random_state=0)
    results = []
    for n_jobs in (1, 2):
        gs = GridSearchCV(base, grid, cv=cv, n_jobs=n_jobs).fit(X, y)
        results.append(gs)
        assert gs.best_estimator_.n_features_in_ == X.shape[1]
        assert isinstance(gs.best_estimator_, Est)
    assert results[0].best_params_ == results[1].best_params_
    assert_allclose(
        results[0].cv_results_["mean_test_score"],
        results[1].cv_results_["mean_test_score"],
        rtol=1e-10,
    )
    # the searched parameter changes the fitted net
    assert (
        results[0].best_estimator_.coefs_[0].shape[1]
        == results[0].best_params_["hidden_layer_sizes"][0]
    )


def test_grid_search_over_solver_and_activation():
    grid = {"solver": ["sgd", "adam", "lbfgs"], "activation": ["relu", "tanh"]}
    gs = GridSearchCV(
        FCNNClassifier((5,), max_iter=20, random_state=0), grid, cv=2
    ).fit(X_IRIS, Y_IRIS)
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_clone(Est):
    est = Est((7, 3), "tanh", solver="sgd", alpha=0.01, max_iter=5, random_state=3)
    y = Y_IRIS if Est is FCNNClassifier else Y_IRIS.astype(float)
    est.fit(X_IRIS, y)
    cl = clone(est)
    assert cl.get_params() == est.get_params()
    assert not hasattr(cl, "coefs_")
    assert not hasattr(cl, "n_iter_")
    with pytest.raises(NotFittedError):
        cl.predict(X_IRIS)
    # a clone fitted the same way gives the same model
    assert_params_equal(cl.fit(X_IRIS, y), est)


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_set_params(Est):
    est = Est()
    assert est.set_params(hidden_layer_sizes=(7,), max_iter=4, random_state=0) is est
    assert est.get_params()["hidden_layer_sizes"] == (7,)
    y = Y_IRIS if Est is FCNNClassifier else Y_IRIS.astype(float)
    est.fit(X_IRIS, y)
    assert est.coefs_[0].shape == (4, 7)
    est.set_params(hidden_layer_sizes=(2, 3)).fit(X_IRIS, y)
    assert [c.shape[1] for c in est.coefs_][:2] == [2, 3]
    with pytest.raises(ValueError):
        est.set_params(not_a_parameter=1)
    # in a pipeline, through the step name
    pipe = make_pipeline(StandardScaler(), Est(max_iter=3))
    name = pipe.steps[-1][0]
    pipe.set_params(**{f"{name}__alpha": 0.5, f"{name}__hidden_layer_sizes": (4,)})
    assert pipe.steps[-1][1].alpha == 0.5
    pipe.fit(X_IRIS, y)
    assert pipe.steps[-1][1].coefs_[0].shape == (4, 4)


def _fitted(Est, solver, dtype=np.float64, **kw):
    X = X_IRIS.astype(dtype)
    y = Y_IRIS if Est is FCNNClassifier else Y_IRIS.astype(float)
    est = Est((6,), solver=solver, max_iter=10, random_state=0, **kw).fit(X, y)
    return est, X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_pickle_round_trip(Est, solver, dtype):
    est, X, y = _fitted(Est, solver, dtype)
    restored = pickle.loads(pickle.dumps(est))
    assert type(restored) is Est
    assert restored.get_params() == est.get_params()
    assert_params_equal(restored, est)
    assert_array_equal(restored.predict(X), est.predict(X))
    if Est is FCNNClassifier:
        assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
        assert_array_equal(restored.predict_log_proba(X), est.predict_log_proba(X))
        assert_array_equal(restored.classes_, est.classes_)
    for attr in (
        "n_iter_",
        "n_layers_",
        "n_outputs_",
        "out_activation_",
        "n_features_in_",
        "loss_",
    ):
        assert getattr(restored, attr) == getattr(est, attr)
    # coefs_ of the restored model are real arrays that can be modified independently
    restored.coefs_[0][0, 0] += 1.0
    assert est.coefs_[0][0, 0] != restored.coefs_[0][0, 0]


def test_pickle_unfitted():
    for est in (FCNNClassifier((3,), random_state=1), FCNNRegressor((3,))):
        r = pickle.loads(pickle.dumps(est))
        assert r.get_params() == est.get_params()
        assert not hasattr(r, "coefs_")


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_warm_start_after_unpickling(Est, solver):
    # Continue training the original and an unpickled copy: identical results, i.e. the
    # optimizer state and random state survive the round trip.
    est, X, y = _fitted(Est, solver, warm_start=True, shuffle=True)
    restored = pickle.loads(pickle.dumps(est))
    est.fit(X, y)
    restored.fit(X, y)
    assert_params_equal(restored, est)
    assert_array_equal(restored.predict(X), est.predict(X))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_partial_fit_after_unpickling(Est, solver):
    est, X, y = _fitted(Est, solver)
    restored = pickle.loads(pickle.dumps(est))
    for _ in range(3):
        est.partial_fit(X, y)
        restored.partial_fit(X, y)
    assert_params_equal(restored, est)


def test_joblib_round_trip_then_partial_fit(tmp_path):
    est = FCNNRegressor((42,), random_state=42, learning_rate_init=0.01, max_iter=200)
    est.fit([[2]], [4])
    path = tmp_path / "mlp.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict([[2]]), est.predict([[2]]))
    for _ in range(200):
        loaded.partial_fit([[2]], [1])
    assert_allclose(loaded.predict([[2]]), [1], rtol=1e-4)


def test_deepcopy_is_independent():
    est, X, y = _fitted(FCNNClassifier, "adam", warm_start=True)
    cp = copy.deepcopy(est)
    assert_params_equal(cp, est)
    cp.fit(X, y)
    assert not np.array_equal(cp.coefs_[0], est.coefs_[0])
    # the original is untouched and still predicts as before
    before = est.predict_proba(X)
    assert_array_equal(est.predict_proba(X), before)


def test_pickle_to_file_object():
    est, X, _ = _fitted(FCNNRegressor, "lbfgs")
    buf = io.BytesIO()
    pickle.dump(est, buf, protocol=pickle.HIGHEST_PROTOCOL)
    buf.seek(0)
    assert_array_equal(pickle.load(buf).predict(X), est.predict(X))


def test_repr_and_html_repr():
    est = FCNNRegressor((50,), solver="lbfgs")
    r = repr(est)
    assert r.startswith("FCNNRegressor(")
    assert "(50,)" in r and "lbfgs" in r
    assert "FCNNRegressor" in est._repr_html_()
