"""The training loop of both estimators: partial_fit, warm start, early stopping and
the stopping rules, as scikit-learn's MLP documents them."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from _helpers import X_DIGITS2 as X_BIN
from _helpers import X_DIGITS3 as X_MULTI
from _helpers import X_REG200 as X_REG
from _helpers import (
    X_SMALL,
    Y_SMALL_BIN,
    Y_SMALL_MULTI,
    Y_SMALL_REG,
    assert_params_allclose,
    assert_params_equal,
    params_of,
)
from _helpers import Y_DIGITS2 as Y_BIN
from _helpers import Y_DIGITS3 as Y_MULTI
from _helpers import Y_REG200 as Y_REG
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import SOLVERS as REGISTERED_SOLVERS
from fcnn_sk._registry import STOCHASTIC_SOLVERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = list(REGISTERED_SOLVERS)
STOCHASTIC = list(STOCHASTIC_SOLVERS)
# the solvers scikit-learn's MLP has, for the trajectory comparisons
SKLEARN_SOLVERS = ["sgd", "adam", "lbfgs"]
SKLEARN_STOCHASTIC = ["sgd", "adam"]


# =============================================================== partial_fit
def test_partial_fit_requires_classes_first_call():
    clf = FCNNClassifier((4,), solver="sgd")
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_SMALL, Y_SMALL_BIN)
    assert not hasattr(clf, "coefs_")


def test_partial_fit_unseen_label_raises_and_names_it():
    clf = FCNNClassifier((4,), solver="adam", random_state=0)
    clf.partial_fit(
        X_SMALL[:30], np.array(["a", "b"])[Y_SMALL_BIN[:30]], classes=["a", "b"]
    )
    y_new = np.array(["a", "zebra"])[Y_SMALL_BIN[30:]]
    before = params_of(clf)
    with pytest.raises(ValueError, match="zebra"):
        clf.partial_fit(X_SMALL[30:], y_new)
    for a, b in zip(before, params_of(clf)):
        assert_array_equal(a, b)


def test_partial_fit_classes_subset_ok():
    clf = FCNNClassifier(random_state=0, hidden_layer_sizes=(5,))
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[4]], ["d"])
    assert_array_equal(clf.classes_, ["a", "b", "c", "d"])
    assert clf.predict_proba([[1]]).shape == (1, 4)
    assert clf.score([[1], [2], [3], [4]], ["a", "b", "c", "d"]) > 0


def test_partial_fit_changed_classes_raises():
    clf = FCNNClassifier((3,), solver="sgd")
    clf.partial_fit([[3, 2]], [0], classes=[0, 1])
    with pytest.raises(ValueError):
        clf.partial_fit([[3, 2]], [0], classes=[1, 2])


def test_partial_fit_with_early_stopping_raises():
    for Est, y in [(FCNNClassifier, Y_SMALL_BIN), (FCNNRegressor, Y_SMALL_REG)]:
        est = Est((4,), early_stopping=True, random_state=0, max_iter=5)
        kwargs = {"classes": [0, 1]} if Est is FCNNClassifier else {}
        with pytest.raises(ValueError, match="early_stopping"):
            est.partial_fit(X_SMALL, y, **kwargs)
        est.fit(X_SMALL, y)
        with pytest.raises(ValueError, match="early_stopping"):
            est.partial_fit(X_SMALL, y)


def test_lbfgs_has_no_partial_fit():
    assert not hasattr(FCNNClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(FCNNRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(FCNNRegressor(solver="sgd"), "partial_fit")


@pytest.mark.parametrize(
    "solver,lr_kw",
    [
        ("sgd", {}),
        ("sgd", {"learning_rate": "invscaling", "power_t": 0.3}),
        ("adam", {}),
    ],
)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_partial_fit_epochs_equal_fit(Est, solver, lr_kw):
    y = Y_SMALL_MULTI if Est is FCNNClassifier else Y_SMALL_REG
    kw = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        shuffle=False,
        batch_size=16,
        random_state=0,
        learning_rate_init=0.01,
        tol=0,
        n_iter_no_change=1000,
        **lr_kw,
    )
    full = Est(max_iter=7, **kw).fit(X_SMALL, y)
    inc = Est(**kw)
    for _ in range(7):
        if Est is FCNNClassifier:
            inc.partial_fit(X_SMALL, y, classes=np.unique(y))
        else:
            inc.partial_fit(X_SMALL, y)
    assert_params_allclose(full, inc, rtol=1e-10, atol=1e-13)
    assert inc.t_ == 7 * len(y)


def test_partial_fit_continues_after_fit():
    reg = FCNNRegressor((4,), solver="sgd", random_state=0, max_iter=3).fit(
        X_SMALL, Y_SMALL_REG
    )
    before = params_of(reg)
    reg.partial_fit(X_SMALL, Y_SMALL_REG)
    after = params_of(reg)
    assert [a.shape for a in before] == [a.shape for a in after]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_partial_fit_regression_learns():
    for momentum in [0, 0.9]:
        kw = dict(
            solver="sgd",
            activation="relu",
            random_state=1,
            learning_rate_init=0.01,
            batch_size=X_REG.shape[0],
            momentum=momentum,
        )
        m1 = FCNNRegressor(max_iter=100, **kw).fit(X_REG, Y_REG)
        m2 = FCNNRegressor(**kw)
        for _ in range(100):
            m2.partial_fit(X_REG, Y_REG)
        assert_allclose(m1.predict(X_REG), m2.predict(X_REG), rtol=1e-7, atol=1e-9)
        assert m2.score(X_REG, Y_REG) > 0.65


# ================================================================ warm_start
@pytest.mark.parametrize(
    "solver,extra",
    [
        ("sgd", {}),
        ("sgd", {"learning_rate": "invscaling"}),
        ("sgd", {"nesterovs_momentum": False}),
        ("adam", {}),
    ],
)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_warm_start_continuity_bitwise(Est, solver, extra):
    y = Y_SMALL_MULTI if Est is FCNNClassifier else Y_SMALL_REG
    kw = dict(
        hidden_layer_sizes=(7, 5),
        solver=solver,
        shuffle=False,
        batch_size=16,
        random_state=0,
        learning_rate_init=0.01,
        tol=0,
        n_iter_no_change=1000,
        **extra,
    )
    ten = Est(max_iter=10, **kw).fit(X_SMALL, y)
    ws = Est(max_iter=5, warm_start=True, **kw).fit(X_SMALL, y)
    ws.fit(X_SMALL, y)
    assert_params_equal(ten, ws)


def test_warm_start_reuses_solution():
    kw = dict(hidden_layer_sizes=(5,), solver="adam", random_state=0, max_iter=5)
    a = FCNNRegressor(warm_start=True, **kw).fit(X_SMALL, Y_SMALL_REG)
    first = params_of(a)
    a.fit(X_SMALL, Y_SMALL_REG)
    b = FCNNRegressor(warm_start=False, **kw).fit(X_SMALL, Y_SMALL_REG)
    b.fit(X_SMALL, Y_SMALL_REG)  # cold refit: same as the first fit
    for x, z in zip(first, params_of(b)):
        assert_array_equal(x, z)
    assert any(not np.array_equal(x, z) for x, z in zip(first, params_of(a)))


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_warm_start_full_iteration(Est):
    y = Y_SMALL_MULTI
    clf = Est(
        hidden_layer_sizes=2, solver="sgd", warm_start=True, max_iter=3, random_state=0
    )
    clf.fit(X_SMALL, y)
    assert clf.n_iter_ == 3
    clf.fit(X_SMALL, y)
    assert clf.n_iter_ == 3


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_warm_start_no_convergence(Est, solver):
    y = Y_SMALL_MULTI
    model = Est(
        (5,),
        solver=solver,
        warm_start=True,
        max_iter=10,
        n_iter_no_change=np.inf,
        random_state=0,
        tol=0,
    )
    with pytest.warns(ConvergenceWarning):
        model.fit(X_SMALL, y)
    assert model.n_iter_ == 10
    model.set_params(max_iter=20)
    with pytest.warns(ConvergenceWarning):
        model.fit(X_SMALL, y)
    assert model.n_iter_ == 20


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_warm_start_with_early_stopping(Est):
    mlp = Est(
        (5,),
        max_iter=10,
        random_state=0,
        warm_start=True,
        early_stopping=True,
        n_iter_no_change=1000,
    )
    mlp.fit(X_MULTI, Y_MULTI)
    n = len(mlp.validation_scores_)
    mlp.set_params(max_iter=20)
    mlp.fit(X_MULTI, Y_MULTI)
    assert len(mlp.validation_scores_) > n


def test_warm_start_class_change_raises():
    clf = FCNNClassifier(
        (2,), solver="lbfgs", warm_start=True, random_state=42, tol=1e-2
    )
    clf.fit(X_MULTI, Y_MULTI)
    clf.fit(X_MULTI, Y_MULTI)
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X_MULTI, (Y_MULTI + 1) % 4)


# ============================================================ early stopping
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_early_stopping_attributes(Est):
    X, y = X_BIN[:100], Y_BIN[:100]
    tol = 0.2
    est = Est(tol=tol, max_iter=3000, solver="sgd", early_stopping=True, random_state=0)
    est.fit(X, y)
    assert est.max_iter > est.n_iter_
    assert est.best_loss_ is None
    assert isinstance(est.validation_scores_, list)
    assert len(est.validation_scores_) == est.n_iter_
    assert len(est.loss_curve_) == est.n_iter_
    scores = est.validation_scores_
    assert max(scores) == est.best_validation_score_
    assert est.best_validation_score_ + tol > scores[-2]
    assert est.best_validation_score_ + tol > scores[-1]

    est = Est(
        tol=tol, max_iter=3000, solver="sgd", early_stopping=False, random_state=0
    )
    est.fit(X, y)
    assert est.validation_scores_ is None
    assert est.best_validation_score_ is None
    assert est.best_loss_ is not None


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_early_stopping_restores_best_weights(Est, solver):
    if Est is FCNNClassifier:
        X, y = X_MULTI, Y_MULTI
    else:
        X, y = X_REG, Y_REG
    kw = dict(
        hidden_layer_sizes=(20,),
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        random_state=0,
        learning_rate_init=0.05,
        batch_size=32,
        tol=0.0,
    )
    est = Est(max_iter=300, n_iter_no_change=8, **kw).fit(X, y)
    scores = np.asarray(est.validation_scores_)
    best_epoch = int(np.argmax(scores)) + 1  # first epoch reaching the maximum
    assert est.best_validation_score_ == scores.max()
    assert best_epoch < est.n_iter_, (
        "test needs training to continue past the best epoch"
    )
    # The same run truncated at the best epoch ends with the weights of that epoch
    ref = Est(max_iter=best_epoch, n_iter_no_change=1000, **kw).fit(X, y)
    assert_array_equal(ref.validation_scores_, scores[:best_epoch])
    assert_params_allclose(est, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("counts", [(70, 30), (60, 30, 10), (40, 30, 20, 10)])
def test_early_stopping_split_is_stratified(counts):
    # With a constant X (zeros) and no hidden layer, every sample gets exactly the same
    # prediction, so the validation accuracy is the share of the predicted class in the
    # validation split. A stratified 10 % split of 100 samples holds exactly counts/10
    # of each class, so every score must be one of counts/100.
    n = sum(counts)
    allowed = {c / n for c in counts}
    X = np.zeros((n, 2))
    y0 = np.repeat(np.arange(len(counts)), counts)
    for seed in range(6):
        y = np.random.RandomState(seed).permutation(y0)
        clf = FCNNClassifier(
            (),
            early_stopping=True,
            validation_fraction=0.1,
            max_iter=8,
            n_iter_no_change=100,
            random_state=seed,
            learning_rate_init=0.05,
        )
        clf.fit(X, y)
        assert len(clf.validation_scores_) == clf.n_iter_ == 8
        for s in clf.validation_scores_:
            assert any(abs(s - a) < 1e-12 for a in allowed), (
                f"validation score {s} is not one of {sorted(allowed)}: split not stratified"
            )


def test_early_stopping_string_labels():
    X, y = make_classification(
        n_samples=200, n_features=10, n_classes=3, n_informative=5, random_state=42
    )
    y = np.array(["class_a", "class_b", "class_c"], dtype=object)[y]
    clf = FCNNClassifier((10,), early_stopping=True, max_iter=50, random_state=42).fit(
        X, y
    )
    assert clf.validation_scores_ is not None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert np.isfinite(clf.validation_scores_).all()


def test_early_stopping_diverging_loss_does_not_raise():
    rng = np.random.RandomState(0)
    X = rng.rand(150, 4) * 8
    y = (X @ [1.0, 2.0, 3.0, 4.0]) / 10
    mlp = FCNNRegressor(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mlp.fit(X, y)
    assert str(mlp.validation_scores_[-1]) == str(np.nan)
    assert isinstance(mlp.validation_scores_[-1], float)
    # best (finite) weights were restored
    assert all(np.isfinite(c).all() for c in mlp.coefs_)


# ============================================================ stopping rules
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n_iter_no_change", [1, 2, 5])
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_n_iter_no_change_rule(Est, n_iter_no_change, early_stopping):
    # with a huge tol no epoch after the first counts as an improvement; training stops
    # once the no-improvement count exceeds n_iter_no_change
    est = Est(
        (5,),
        solver="sgd",
        tol=1e9,
        n_iter_no_change=n_iter_no_change,
        max_iter=100,
        random_state=0,
        early_stopping=early_stopping,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X_BIN[:100], Y_BIN[:100])
    assert est.n_iter_ == n_iter_no_change + 2
    assert len(est.loss_curve_) == est.n_iter_


def test_n_iter_no_change_inf_runs_to_max_iter():
    clf = FCNNClassifier(
        (5,),
        tol=1e9,
        max_iter=60,
        solver="sgd",
        n_iter_no_change=np.inf,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="60"):
        clf.fit(X_BIN[:100], Y_BIN[:100])
    assert clf.n_iter_ == 60


def test_tolerance_stops_early():
    clf = FCNNClassifier(tol=0.5, max_iter=3000, solver="sgd", random_state=0)
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.max_iter > clf.n_iter_


def test_adaptive_learning_rate_stops():
    clf = FCNNClassifier(
        tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive", random_state=0
    )
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.max_iter > clf.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_convergence_warning_at_max_iter(Est, solver):
    est = Est((10,), solver=solver, max_iter=3, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_MULTI, Y_MULTI)
    assert est.n_iter_ == 3


def test_no_convergence_warning_when_converged():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        FCNNClassifier(tol=0.5, max_iter=3000, solver="sgd", random_state=0).fit(
            [[3, 2], [1, 6]], [1, 0]
        )
    assert not [w for w in rec if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_lbfgs_max_fun(Est):
    est = Est(
        solver="lbfgs",
        hidden_layer_sizes=50,
        max_iter=150,
        max_fun=10,
        tol=0.0,
        random_state=1,
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X_MULTI, Y_MULTI)
    assert est.n_iter_ <= 10
