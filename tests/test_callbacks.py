"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

Every test fits real estimators with scikit-learn's own callbacks (ProgressBar,
ScoringMonitor) or with small callbacks written to the ``FitCallback`` protocol here,
alone and through Pipeline, GridSearchCV and RandomizedSearchCV. The reference for a
``fitted_estimator`` after k epochs is an independent fit with ``max_iter=k``: the
training is deterministic, so the two must be bit-identical.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNClassifier, FCNNRegressor

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")

SOLVERS = ["adam", "sgd", "lbfgs"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


class Recorder:
    """Records every hook call: (hook, task_name, task_id, keyword arguments)."""

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, context.task_id, {}))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, context.task_id, {}))

    def _record(self, hook, context, **kwargs):
        self.calls.append(
            (hook, context.task_name, context.task_id, {**kwargs, "context": context})
        )

    def on_fit_task_begin(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        self._record(
            "begin",
            context,
            X=X,
            y=y,
            metadata=metadata,
            fitted_estimator=fitted_estimator,
        )

    def on_fit_task_end(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        self._record(
            "end",
            context,
            X=X,
            y=y,
            metadata=metadata,
            fitted_estimator=fitted_estimator,
        )
        return self.stop(context)

    def stop(self, context):
        return False

    def epochs(self, hook):
        """The keyword arguments of ``hook`` for each epoch (iteration) task."""
        return [
            kw
            for h, name, _, kw in self.calls
            if h == hook and name in ("epoch", "iteration")
        ]


class StopAfter(Recorder):
    """Asks to stop at the end of epoch ``k``."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def stop(self, context):
        return context.task_name != "fit" and context.task_id + 1 >= self.k


class RaiseAt(Recorder):
    """Raises in ``hook`` of epoch task ``task_id``."""

    def __init__(self, hook, task_id):
        super().__init__()
        self.hook, self.task_id = hook, task_id

    def _maybe_raise(self, hook, context):
        if context.task_name != "fit" and (hook, context.task_id) == (
            self.hook,
            self.task_id,
        ):
            raise RuntimeError(f"raised in {hook} of task {context.task_id}")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        super().on_fit_task_begin(estimator, context, **kwargs)
        self._maybe_raise("begin", context)

    def on_fit_task_end(self, estimator, context, **kwargs):
        super().on_fit_task_end(estimator, context, **kwargs)
        self._maybe_raise("end", context)


class AutoRecorder(Recorder):
    """A recorder that meta-estimators propagate to their sub-estimators."""

    max_propagation_depth = None


def _params(solver, **extra):
    return {
        "hidden_layer_sizes": (12,),
        "solver": solver,
        "max_iter": 6,
        "random_state": 0,
        **extra,
    }


def _fit(params, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return FCNNClassifier(**params).fit(X, y, **fit_params)


def _assert_same_model(a, b):
    for u, v in zip([*a.coefs_, *a.intercepts_], [*b.coefs_, *b.intercepts_]):
        assert_array_equal(u, v)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
def test_one_task_per_epoch_under_the_root_task(digits, solver):
    X, y = digits
    sw = np.linspace(0.5, 1.5, len(y))
    rec = Recorder()
    clf = FCNNClassifier(**_params(solver)).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    name = "iteration" if solver == "lbfgs" else "epoch"
    n = clf.n_iter_
    assert n == 6
    hooks = [(h, task, i) for h, task, i, _ in rec.calls]
    assert hooks == [
        ("setup", "fit", 0),
        ("begin", "fit", 0),
        *[(h, name, i) for i in range(n) for h in ("begin", "end")],
        ("end", "fit", 0),
        ("teardown", "fit", 0),
    ]
    root = rec.calls[1][3]["context"]
    assert root.max_subtasks == clf.max_iter and root.parent is None
    for _, _, _, kw in rec.calls[1:-1]:
        assert kw["X"] is not None and kw["X"].shape == X.shape
        assert_array_equal(kw["y"], y)
        assert_array_equal(kw["metadata"]["sample_weight"], sw)
        assert kw["context"] is root or kw["context"].parent is root
    assert not hasattr(clf, "_callback_fit_ctx")  # scikit-learn's teardown ran


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
def test_fitted_estimator_is_the_model_after_that_epoch(digits, solver, dtype):
    X, y = digits[0].astype(dtype), digits[1]
    rec = Recorder()
    params = _params(solver)
    clf = FCNNClassifier(**params).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # the callbacks do not change the fit
    _assert_same_model(clf, _fit(params, X, y))
    ends = [kw["fitted_estimator"] for kw in rec.epochs("end")]
    begins = [kw["fitted_estimator"] for kw in rec.epochs("begin")]
    assert len(ends) == len(begins) == clf.n_iter_
    for k in (1, 4):
        shorter = _fit({**params, "max_iter": k}, X, y)
        _assert_same_model(ends[k - 1], shorter)
        _assert_same_model(begins[k], shorter)  # the next epoch begins from it
        assert ends[k - 1].coefs_[0].dtype == dtype
        assert_array_equal(ends[k - 1].predict_proba(X), shorter.predict_proba(X))
        if solver != "lbfgs":
            for snap in (ends[k - 1], begins[k]):
                assert snap.loss_curve_ == shorter.loss_curve_
                assert_array_equal(snap.grad_norm_curve_, shorter.grad_norm_curve_)
    # copies: nothing shared with the fitted model or another epoch's snapshot
    for snap in ends + begins:
        assert not any(np.shares_memory(a, b) for a in snap.coefs_ for b in clf.coefs_)
    assert not np.shares_memory(ends[0].coefs_[0], ends[1].coefs_[0])
    assert ends[0]._params is not ends[1]._params
    assert all(c.base is ends[0]._params for c in ends[0].coefs_)  # views of its own
    assert begins[0].n_iter_ == 0  # before the first epoch: the initial weights


def test_snapshots_keep_training_state_apart(digits):
    """A callback may train its fitted_estimator further without touching the fit:
    optimizer state and random streams are copies too."""
    X, y = digits
    params = _params("sgd", dropout=0.3, momentum=0.9)

    class TrainSnapshot(Recorder):
        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "epoch":
                fitted_estimator.partial_fit(X, y)  # updates the copy only
                fitted_estimator.predict(X)

    clf = FCNNClassifier(**params).set_callbacks(TrainSnapshot())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    _assert_same_model(clf, _fit(params, X, y))


@pytest.mark.parametrize(
    "solver, early_stopping",
    [
        ("adam", False),
        ("adam", True),
        ("sgd", False),
        ("sgd", True),
        ("lbfgs", False),
    ],
)
def test_callback_stops_after_k_epochs(digits, solver, early_stopping):
    X, y = digits
    params = _params(solver, max_iter=20, early_stopping=early_stopping)
    stopper = StopAfter(3)
    clf = FCNNClassifier(**params).set_callbacks(stopper)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", ConvergenceWarning
        )  # a requested stop is no failure
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    # the fit ended as one of max_iter=3 does (the best weights with early stopping)
    _assert_same_model(clf, _fit({**params, "max_iter": 3}, X, y))
    ends = stopper.epochs("end")
    assert len(ends) == 3
    _assert_same_model(ends[-1]["fitted_estimator"], clf)
    if solver != "lbfgs":
        assert len(clf.loss_curve_) == 3 and clf.grad_norm_curve_.shape[0] == 3
    if early_stopping:
        assert len(clf.validation_scores_) == 3
    assert [h for h, *_ in stopper.calls[-2:]] == ["end", "teardown"]


@pytest.mark.parametrize(
    "hook, task_id, completed",
    [
        ("end", 2, 3),  # epoch 3 ran, its hook raised
        ("begin", 3, 3),  # epoch 4 never started
        ("begin", 0, 0),  # no epoch at all: the initial weights
    ],
)
@pytest.mark.parametrize("solver", SOLVERS)
def test_raising_callback_leaves_the_last_completed_epoch(
    digits, solver, hook, task_id, completed
):
    X, y = digits
    params = _params(solver, max_iter=10)
    clf = FCNNClassifier(**params).set_callbacks(RaiseAt(hook, task_id))
    with pytest.raises(RuntimeError, match=f"raised in {hook} of task {task_id}"):
        clf.fit(X, y)
    assert clf.n_iter_ == completed
    if completed:
        _assert_same_model(clf, _fit({**params, "max_iter": completed}, X, y))
    else:
        initial = FCNNClassifier(**params).set_callbacks(RaiseAt("begin", 0))
        with pytest.raises(RuntimeError):
            initial.fit(X, y)
        _assert_same_model(clf, initial)
    if solver != "lbfgs":
        assert len(clf.loss_curve_) == completed
        assert clf.grad_norm_curve_.shape == (completed, 2)
    assert clf.predict(X).shape == y.shape
    assert not hasattr(clf, "_callback_fit_ctx")


def test_partial_fit_is_one_epoch_task(digits):
    X, y = digits
    rec = Recorder()
    clf = FCNNClassifier((12,), random_state=0).set_callbacks(rec)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    hooks = [(h, task) for h, task, *_ in rec.calls]
    one = [
        ("setup", "fit"),
        ("begin", "fit"),
        ("begin", "epoch"),
        ("end", "epoch"),
        ("end", "fit"),
        ("teardown", "fit"),
    ]
    assert hooks == one + one
    assert rec.calls[1][3]["context"].max_subtasks == 1


def test_verbose_prints_the_same_lines(digits, capsys):
    X, y = digits
    for solver in ("adam", "lbfgs"):
        params = _params(solver, verbose=True, early_stopping=solver == "adam")
        _fit(params, X, y)
        plain = capsys.readouterr().out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            FCNNClassifier(**params).set_callbacks(Recorder()).fit(X, y)
        assert capsys.readouterr().out == plain
        assert "Iteration 6, loss = " in plain


def test_propagation_through_pipeline(digits):
    """A propagated callback reaches the network as final step and as a transformer
    in the middle of a pipeline; the epochs join the pipeline's task tree."""
    X, y = digits
    rec = AutoRecorder()
    pipe = make_pipeline(
        StandardScaler(),
        FCNNRegressor((8,), max_iter=3, random_state=0),  # a feature extractor
        FCNNClassifier((6,), max_iter=4, random_state=0),
    ).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y.astype(float))
    epochs = [kw["context"] for kw in rec.epochs("end")]
    assert [c.estimator_name for c in epochs] == ["FCNNRegressor"] * 3 + [
        "FCNNClassifier"
    ] * 4
    for c in epochs:
        root = c
        while root.parent is not None:
            root = root.parent
        assert root.estimator_name == "Pipeline"
        assert c.parent.source_estimator_name == "Pipeline"
    assert [h for h, name, *_ in rec.calls].count("setup") == 1


@pytest.mark.parametrize(
    "search",
    [
        GridSearchCV(
            FCNNClassifier((8,), max_iter=3, tol=0, random_state=0),
            {"alpha": [1e-4, 1e-2]},
            cv=2,
        ),
        RandomizedSearchCV(
            FCNNClassifier((8,), max_iter=3, tol=0, random_state=0),
            {"alpha": loguniform(1e-5, 1e-1)},
            n_iter=2,
            cv=2,
            random_state=0,
        ),
    ],
    ids=["grid", "randomized"],
)
def test_propagation_through_searches(digits, search):
    X, y = digits
    rec = AutoRecorder()
    search = clone(search).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "does not support callbacks"
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    n_fits = 2 * 2 + 1  # candidates x splits, and the refit
    ends = rec.epochs("end")
    assert len(ends) == n_fits * 3
    assert all(kw["fitted_estimator"] is not None for kw in ends)
    fits = {id(kw["context"].parent) for kw in ends}
    assert len(fits) == n_fits
    refit = [
        kw
        for kw in ends
        if kw["context"].parent.source_task_name == "refit-with-best-params"
    ]
    _assert_same_model(refit[-1]["fitted_estimator"], search.best_estimator_)


def test_epoch_tasks_join_the_tree_of_a_search_with_its_own_callbacks(digits):
    """A callback of the search alone (not propagated) still finds every fit's
    epochs in the search's task tree."""
    X, y = digits
    rec = Recorder()
    search = GridSearchCV(
        FCNNClassifier((8,), max_iter=3, tol=0, random_state=0),
        {"alpha": [1e-4, 1e-2]},
        cv=2,
    ).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    root = next(kw["context"] for hook, *_, kw in rec.calls if hook == "begin")
    while root.parent is not None:
        root = root.parent
    tasks = [(c.estimator_name, c.task_name) for c in root]
    assert tasks.count(("FCNNClassifier", "fit")) == 2 * 2 + 1  # the refit's too
    assert tasks.count(("FCNNClassifier", "epoch")) == (2 * 2 + 1) * 3


def test_no_tasks_inside_a_search_without_callbacks(digits, monkeypatch):
    """With no callback anywhere, a search's fits open no callback context (whose
    tasks nobody would read), and fit as they do alone."""
    X, y = digits
    opened = []
    init = FCNNClassifier._init_callback_context

    def counting(self, *args, **kwargs):
        opened.append(1)
        return init(self, *args, **kwargs)

    monkeypatch.setattr(FCNNClassifier, "_init_callback_context", counting)
    model = FCNNClassifier((8,), max_iter=3, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(model, {"alpha": [1e-4]}, cv=2).fit(X, y)
        alone = clone(model).fit(X, y)
    assert opened == []
    _assert_same_model(search.best_estimator_, alone)


def test_progress_bar_through_search(digits, capsys):
    pytest.importorskip("rich")
    X, y = digits
    search = GridSearchCV(
        FCNNClassifier((8,), max_iter=4, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=2
    )
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - candidate-split-evaluation | FCNNClassifier - fit #3" in out
    assert "GridSearchCV - refit-with-best-params | FCNNClassifier - fit" in out
    assert "100%" in out and "%" not in out.replace("100%", "")


def test_progress_bar_on_the_estimator(digits, capsys):
    pytest.importorskip("rich")
    X, y = digits
    clf = FCNNClassifier((8,), solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_callbacks(callback.ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "FCNNClassifier - fit" in out and "100%" in out


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_scoring_monitor_per_epoch_scores_through_search(digits, n_jobs):
    """scikit-learn's ScoringMonitor on the network inside a search: a training and a
    validation score for every epoch of every fit, the validation one equal to the
    score the fit itself recorded (``validation_scores_``)."""
    X, y = digits
    X_val, y_val = load_digits(return_X_y=True)
    X_val, y_val = X_val[300:420] / 16, y_val[300:420]

    def scores(estimator, X, y):
        return {
            "train": estimator.score(X, y),
            "validation": estimator.score(X_val, y_val),
        }

    monitor = callback.ScoringMonitor(scoring=scores)
    clf = FCNNClassifier((16,), max_iter=5, tol=0, random_state=0)
    search = GridSearchCV(
        clf.set_callbacks(monitor), {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=n_jobs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y, X_val=X_val, y_val=y_val)
    log = monitor.get_logs().data
    epochs = [row for row in log if row["task_name"] == "epoch"]
    assert len(epochs) == (2 * 2 + 1) * 5
    by_fit = {}
    for row in epochs:
        by_fit.setdefault(row["parent_task_id_path"], []).append(row)
    assert len(by_fit) == 5 and all(len(rows) == 5 for rows in by_fit.values())
    for rows in by_fit.values():
        assert [row["task_id"] for row in rows] == list(range(5))
        assert all(
            0 <= row["train"] <= 1 and 0 <= row["validation"] <= 1 for row in rows
        )
    # the refit's rows: its own record of the validation scores, and its final score
    refit = [rows for path, rows in by_fit.items() if len(path) == 2]
    assert len(refit) == 1
    best = search.best_estimator_
    assert [row["validation"] for row in refit[0]] == best.validation_scores_
    assert refit[0][-1]["train"] == best.score(X, y)
