"""pandas and polars output: ``set_output`` and ``get_feature_names_out(layer=...)``.

scikit-learn's own common checks for ``set_output`` and feature names, then what they
do not cover: the layer chosen per ``transform`` call, the global configuration,
and networks in pipelines (final step after a ColumnTransformer, feature extractor in
the middle).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn import config_context
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import (
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
)

from fcnn_sk import FCNNClassifier, FCNNRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # scikit-learn's checks fit on arrays and transform data frames, and the reverse
    pytest.mark.filterwarnings("ignore:X .* feature names:UserWarning"),
]

ESTIMATORS = [
    FCNNClassifier((8,), max_iter=20, random_state=0),
    FCNNRegressor((8, 5), activation="tanh", max_iter=20, random_state=0),
    FCNNClassifier((6,), solver="lbfgs", max_iter=20, random_state=0),
]
CHECKS = [
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_set_output_transform_polars,
    check_global_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_get_feature_names_out_error,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "estimator",
    ESTIMATORS,
    ids=["classifier-adam", "regressor-2-layers", "classifier-lbfgs"],
)
def test_sklearn_set_output_checks(estimator, check):
    if "polars" in check.__name__:
        pytest.importorskip("polars")
    elif "pandas" in check.__name__:
        pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _fitted(X, y, **params):
    params = {"max_iter": 10, "random_state": 0, **params}
    return FCNNClassifier((7, 5, 3), **params).fit(X, y)


@pytest.mark.parametrize("layer, k", [(0, 0), (1, 1), (2, 2), (-1, 2), (-3, 0)])
def test_pandas_columns_follow_the_layer(data, layer, k):
    pd = pytest.importorskip("pandas")
    X, y = data
    clf = _fitted(X, y)
    expected = clf.transform(X, layer=layer)
    df = pd.DataFrame(X, columns=list("abcd"), index=[f"r{i}" for i in range(len(X))])
    clf.set_output(transform="pandas")
    for out in (clf.transform(df, layer=layer), clf.transform(df, layer)):
        assert isinstance(out, pd.DataFrame)
        width = clf.coefs_[k].shape[1]
        assert list(out.columns) == [
            f"fcnnclassifier_layer{k}_{j}" for j in range(width)
        ]
        assert list(out.columns) == list(clf.get_feature_names_out(layer=layer))
        assert_array_equal(out.index, df.index)
        assert_array_equal(out.to_numpy(), expected)


def test_polars_columns_follow_the_layer(data):
    pl = pytest.importorskip("polars")
    X, y = data
    clf = _fitted(X, y).set_output(transform="polars")
    out = clf.transform(X, layer=1)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == [f"fcnnclassifier_layer1_{j}" for j in range(5)]
    clf.set_output(transform="default")
    assert_array_equal(out.to_numpy(), clf.transform(X, layer=1))


def test_global_config_and_fit_transform(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    X32 = X.astype(np.float32)
    with config_context(transform_output="pandas"):
        out = FCNNRegressor((6, 3), max_iter=10, random_state=0).fit_transform(X32, y)
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == [f"fcnnregressor_layer1_{j}" for j in range(3)]
        assert (out.dtypes == np.float32).all()  # float32 in, float32 out
    out = FCNNRegressor((6, 3), max_iter=10, random_state=0).fit_transform(X32, y)
    assert isinstance(out, np.ndarray)


def test_names_are_stable_and_distinct(data):
    X, y = data
    a = _fitted(X, y)
    b = _fitted(X[::-1] * 2, y[::-1], random_state=None, activation="tanh")
    for layer in (0, 1, 2, -1):
        assert_array_equal(
            a.get_feature_names_out(layer=layer), b.get_feature_names_out(layer=layer)
        )
    names = np.concatenate([a.get_feature_names_out(layer=k) for k in range(3)])
    assert len(set(names)) == len(names) == 7 + 5 + 3
    assert_array_equal(a.get_feature_names_out(), a.get_feature_names_out(layer=2))


def test_bad_layer_and_input_features(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    clf = _fitted(X, y)
    for layer in (3, -4, 1.0, "0"):
        with pytest.raises(ValueError, match=r"layer must be an integer in \[-3, 3\)"):
            clf.get_feature_names_out(layer=layer)
        with pytest.raises(ValueError, match=r"layer must be an integer in \[-3, 3\)"):
            clf.transform(X, layer=layer)
    with pytest.raises(ValueError, match="input_features should have length equal"):
        clf.get_feature_names_out(["a", "b"])
    clf.fit(pd.DataFrame(X, columns=list("abcd")), y)
    with pytest.raises(
        ValueError, match="input_features is not equal to feature_names"
    ):
        clf.get_feature_names_out(list("abce"))
    assert_array_equal(
        clf.get_feature_names_out(list("abcd"), layer=0),
        clf.get_feature_names_out(layer=0),
    )
    with pytest.raises(NotFittedError):
        FCNNClassifier((3,)).get_feature_names_out()


def test_no_hidden_layer_no_transform(data):
    """A linear network has nothing to transform to: no transform, set_output or
    get_feature_names_out, and a pipeline's set_output passes it by."""
    pytest.importorskip("pandas")
    X, y = data
    reg = FCNNRegressor((), solver="lbfgs")
    for name in ("transform", "fit_transform", "set_output", "get_feature_names_out"):
        assert not hasattr(reg, name)
    pipe = make_pipeline(StandardScaler(), reg).set_output(transform="pandas")
    assert pipe.fit(X, y.astype(float)).predict(X).shape == (len(X),)


def test_issue_pipeline_with_column_transformer():
    """make_pipeline(ColumnTransformer(...), FCNNRegressor()).set_output("pandas")
    fits and predicts, as it does with MLPRegressor."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "x0": rng.normal(size=60),
            "x1": rng.normal(size=60),
            "city": rng.choice(["a", "b", "c"], size=60),
        }
    )
    y = df["x0"] * 2 + (df["city"] == "b")
    preprocess = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x0", "x1"]),
            ("cat", OneHotEncoder(sparse_output=False), ["city"]),
        ]
    )
    predictions = {}
    for reg in (
        FCNNRegressor((16,), max_iter=30, random_state=0),
        MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0),
    ):
        pipe = make_pipeline(preprocess, reg).set_output(transform="pandas")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(df, y)
        assert list(pipe[-1].feature_names_in_) == [
            "num__x0",
            "num__x1",
            "cat__city_a",
            "cat__city_b",
            "cat__city_c",
        ]
        predictions[type(reg).__name__] = pipe.predict(df)
    assert predictions["FCNNRegressor"].shape == (60,)
    # the same data and initial draw give scikit-learn's fit
    np.testing.assert_allclose(
        predictions["FCNNRegressor"], predictions["MLPRegressor"], rtol=1e-10
    )


def test_network_as_named_feature_extractor(data):
    """A network in the middle of a pipeline hands named columns to the next step."""
    pd = pytest.importorskip("pandas")
    X, y = data
    pipe = make_pipeline(
        StandardScaler(),
        FCNNClassifier((16, 8), max_iter=30, random_state=0),
        LogisticRegression(),
    ).set_output(transform="pandas")
    pipe.fit(pd.DataFrame(X, columns=list("abcd")), y)
    names = [f"fcnnclassifier_layer1_{j}" for j in range(8)]
    assert list(pipe[-1].feature_names_in_) == names
    assert list(pipe[:-1].get_feature_names_out()) == names
    features = pipe[:-1].transform(pd.DataFrame(X, columns=list("abcd")))
    assert isinstance(features, pd.DataFrame) and list(features.columns) == names
    assert pipe.score(pd.DataFrame(X, columns=list("abcd")), y) > 0.8
