"""The registries are complete: every entry has its compiled kernel, its oracle in
tests/_reference.py, its doc, and reaches validation and the parameter docs."""

import pytest
from sklearn.utils._param_validation import StrOptions

from _reference import (
    HIDDEN_ACTIVATIONS as REF_ACTIVATIONS,
)
from _reference import (
    INIT_FORMULAS,
    REF_LOSSES,
    SOLVER_STEPS,
    reference_schedule_lrs,
)
from fcnn_sk import FCNNClassifier, FCNNRegressor, _compiled
from fcnn_sk._registry import (
    ACTIVATIONS,
    INITIALIZERS,
    LOSSES,
    OUTPUT_LOSSES,
    REGISTRIES,
    SCHEDULES,
    SOLVERS,
    STOCHASTIC_SOLVERS,
    losses_for,
)


def test_activations_have_kernels_and_oracles():
    assert set(ACTIVATIONS) == set(_compiled.kernels.ACTIVATIONS)
    assert set(ACTIVATIONS) == set(REF_ACTIVATIONS)


def test_losses_have_kernels_and_oracles():
    assert set(LOSSES) == set(_compiled.kernels.LOSSES)
    assert set(LOSSES) == set(REF_LOSSES)
    for name, loss in LOSSES.items():
        assert _compiled.kernels.LOSSES[name][1] == loss.link
        assert REF_LOSSES[name][0] == loss.link
    # one canonical loss per output activation
    assert sorted(OUTPUT_LOSSES) == sorted({loss.link for loss in LOSSES.values()})


def test_solvers_have_kernels_and_oracles():
    assert set(STOCHASTIC_SOLVERS) == set(_compiled.kernels.SOLVERS)
    assert set(STOCHASTIC_SOLVERS) == set(SOLVER_STEPS)
    for solver in SOLVERS.values():
        assert solver.stochastic == bool(solver.state)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_have_oracles(schedule):
    assert len(reference_schedule_lrs(schedule, 0.1, 5, 10, 0.5)) == 5


def test_initializers_have_oracles():
    assert set(INITIALIZERS) == set(INIT_FORMULAS)


@pytest.mark.parametrize("param", REGISTRIES)
def test_every_entry_is_documented_validated_and_named_in_the_docs(param):
    table = REGISTRIES[param]
    Est = FCNNRegressor if param == "loss" else FCNNClassifier
    names = set(losses_for("regression")) if param == "loss" else set(table)
    (options,) = [
        c for c in Est._parameter_constraints[param] if isinstance(c, StrOptions)
    ]
    assert options.options == names
    for name in names:
        entry = table[name]
        assert entry.name == name and entry.doc.strip()
        assert f"'{name}'" in Est.__doc__
    # the parameters an entry reads are the estimator's
    for entry in table.values():
        for p in getattr(entry, "params", ()):
            assert (
                p in FCNNClassifier().get_params() or p in FCNNRegressor().get_params()
            )


def test_unknown_names_fail_at_the_kernel_boundary():
    with pytest.raises((ValueError, KeyError)):
        _compiled.kernels.Network([2, 3, 1], ["not_an_activation"], "squared_error")
    with pytest.raises((ValueError, KeyError)):
        _compiled.kernels.Network([2, 3, 1], ["relu"], "not_a_loss")
