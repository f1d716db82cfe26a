"""TrainingCurveDisplay, drawn with matplotlib's Agg backend: the plotted data are the
model's curves, on the axes scikit-learn's Display conventions put them."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNClassifier, FCNNRegressor, TrainingCurveDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400], X[400:500] / 16, y[400:500]


def _xy(line):
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


def test_curves_of_a_fit_with_validation_data(digits):
    X, y, X_val, y_val = digits
    clf = FCNNClassifier((16, 8), max_iter=7, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    display = TrainingCurveDisplay.from_estimator(clf)
    epochs = np.arange(1, 8)
    assert set(display.lines_) == {"loss", "validation_loss", "validation_score"}
    for key, values in [
        ("loss", clf.loss_curve_),
        ("validation_loss", clf.validation_loss_curve_),
        ("validation_score", clf.validation_scores_),
    ]:
        x, y_plotted = _xy(display.lines_[key])
        assert_array_equal(x, epochs)
        assert_array_equal(y_plotted, values)
    # the losses share the first axes, the score has its own y axis
    assert display.lines_["loss"].axes is display.ax_
    assert display.lines_["validation_loss"].axes is display.ax_
    assert display.lines_["validation_score"].axes is display.score_ax_
    assert display.score_ax_ is not display.ax_
    assert display.score_ax_.get_ylabel() == "validation accuracy"
    assert display.ax_.get_ylabel() == "loss" and display.ax_.get_xlabel() == "epoch"
    assert display.grad_ax_ is None
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_title() == "FCNNClassifier"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss", "validation loss", "validation accuracy"]


def test_gradient_norms_in_a_second_panel(digits):
    X, y, _, _ = digits
    y = X[:, :3].sum(axis=1)
    reg = FCNNRegressor((16, 8), early_stopping=True, max_iter=6, random_state=0)
    reg.fit(X, y)
    display = TrainingCurveDisplay.from_estimator(
        reg, show_grad_norms=True, grad_norm_kwargs={"linewidth": 3}
    )
    assert display.grad_ax_ is not None and display.grad_ax_ is not display.ax_
    assert display.grad_ax_.get_yscale() == "log"
    assert display.score_ax_.get_ylabel() == "validation R²"
    assert_array_equal(
        _xy(display.lines_["validation_score"])[1], reg.validation_scores_
    )
    assert reg.grad_norm_curve_.shape == (6, 3)
    for i in range(3):
        line = display.lines_[f"grad_norm_{i}"]
        assert line.axes is display.grad_ax_ and line.get_label() == f"coefs_[{i}]"
        assert line.get_linewidth() == 3
        x, values = _xy(line)
        assert_array_equal(x, np.arange(1, 7))
        assert_array_equal(values, reg.grad_norm_curve_[:, i])


def test_no_validation_data_only_the_loss(digits):
    X, y, _, _ = digits
    clf = FCNNClassifier((8,), max_iter=4, random_state=0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(
        clf, name="run 1", loss_kwargs={"color": "k"}
    )
    assert list(display.lines_) == ["loss"]
    assert display.score_ax_ is None
    assert display.ax_.get_title() == "run 1"
    assert display.lines_["loss"].get_color() == "k"
    assert_array_equal(_xy(display.lines_["loss"])[1], clf.loss_curve_)


def test_network_inside_pipeline_and_search(digits):
    X, y, X_val, y_val = digits
    pipe = make_pipeline(
        StandardScaler(), FCNNClassifier((8,), max_iter=5, random_state=0)
    )
    pipe.fit(X, y)
    display = TrainingCurveDisplay.from_estimator(pipe)
    assert_array_equal(_xy(display.lines_["loss"])[1], pipe[-1].loss_curve_)

    search = GridSearchCV(pipe, {"fcnnclassifier__alpha": [1e-4, 1.0]}, cv=2)
    search.fit(X, y, fcnnclassifier__X_val=X_val, fcnnclassifier__y_val=y_val)
    display = TrainingCurveDisplay.from_estimator(search, show_grad_norms=True)
    best = search.best_estimator_[-1]
    assert_array_equal(_xy(display.lines_["loss"])[1], best.loss_curve_)
    assert_array_equal(
        _xy(display.lines_["validation_score"])[1], best.validation_scores_
    )
    assert_array_equal(
        _xy(display.lines_["grad_norm_1"])[1], best.grad_norm_curve_[:, 1]
    )


def test_validation_added_by_a_warm_start_covers_the_last_epochs(digits):
    X, y, X_val, y_val = digits
    clf = FCNNClassifier((8,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    display = TrainingCurveDisplay.from_estimator(clf, show_grad_norms=True)
    assert_array_equal(_xy(display.lines_["loss"])[0], np.arange(1, 7))
    x, values = _xy(display.lines_["validation_loss"])
    assert_array_equal(x, [4, 5, 6])
    assert_array_equal(values, clf.validation_loss_curve_)


def test_draws_on_given_axes(digits):
    X, y, _, _ = digits
    clf = FCNNClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2)
    display = TrainingCurveDisplay.from_estimator(
        clf, ax=(ax_loss, ax_grad), show_grad_norms=True
    )
    assert display.ax_ is ax_loss and display.grad_ax_ is ax_grad
    assert display.figure_ is fig
    _, ax = plt.subplots()
    display.plot(ax=ax)
    assert display.ax_ is ax and display.grad_ax_ is None
    assert set(display.lines_) == {"loss"}
    with pytest.raises(ValueError, match="ax must be a pair of Axes"):
        display.plot(ax=ax, show_grad_norms=True)
    with pytest.raises(ValueError, match="ax must be one matplotlib Axes"):
        display.plot(ax=(ax_loss, ax_grad))


def test_constructor_and_plot():
    display = TrainingCurveDisplay(
        loss_curve=[3.0, 2.0, 1.5],
        validation_scores=[0.5, 0.7],
        score_name="validation F1",
        name="mine",
    )
    display.plot()
    x, values = _xy(display.lines_["validation_score"])
    assert_array_equal(x, [2, 3])
    assert_array_equal(values, [0.5, 0.7])
    assert display.score_ax_.get_ylabel() == "validation F1"
    with pytest.raises(ValueError, match="no grad_norm_curve"):
        display.plot(show_grad_norms=True)
    with pytest.raises(ValueError, match="more than the 3 epochs"):
        TrainingCurveDisplay(
            loss_curve=[1.0, 0.5, 0.2], validation_loss_curve=[1, 2, 3, 4]
        ).plot()
    with pytest.raises(ValueError, match="loss_curve is empty"):
        TrainingCurveDisplay(loss_curve=[]).plot()


def test_works_with_scikit_learns_mlp(digits):
    X, y, _, _ = digits
    mlp = MLPClassifier((8,), early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(mlp)
    assert_array_equal(
        _xy(display.lines_["validation_score"])[1], mlp.validation_scores_
    )
    with pytest.raises(ValueError, match="MLPClassifier has no grad_norm_curve_"):
        TrainingCurveDisplay.from_estimator(mlp, show_grad_norms=True)


def test_errors(digits):
    X, y, _, _ = digits
    lbfgs = FCNNClassifier((8,), solver="lbfgs", max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="solver='lbfgs' does not"):
        TrainingCurveDisplay.from_estimator(lbfgs)
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(FCNNClassifier())
    with pytest.raises(
        TypeError, match="needs a fitted FCNNClassifier or FCNNRegressor"
    ):
        TrainingCurveDisplay.from_estimator(LogisticRegression().fit(X, y))


def test_matplotlib_missing_names_the_extra(digits, monkeypatch):
    X, y, _, _ = digits
    clf = FCNNClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    # None in sys.modules makes `import matplotlib` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for call in (
        lambda: TrainingCurveDisplay.from_estimator(clf),
        lambda: TrainingCurveDisplay(loss_curve=[1.0]).plot(),
    ):
        with pytest.raises(ImportError, match=r"pip install 'fcnn_sk\[plot\]'"):
            call()
