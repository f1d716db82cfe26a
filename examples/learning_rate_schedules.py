"""
Learning-rate schedules compared
================================

The stochastic solvers take a learning-rate schedule, the ``learning_rate``
parameter:

- ``'constant'``: ``learning_rate_init`` throughout;
- ``'invscaling'``: ``learning_rate_init / (t + 1) ** power_t`` after each epoch,
  ``t`` the number of samples seen so far;
- ``'adaptive'``: divided by 5 each time ``n_iter_no_change`` epochs bring no
  improvement of the training loss, where the others stop; training stops once the
  rate falls below 1e-6;
- ``'cosine'``: cosine annealing from ``learning_rate_init`` towards zero over the
  ``max_iter`` epochs of the fit;
- ``'plateau'``: like ``'adaptive'``, but watching the score on validation data
  (``X_val``, or the early-stopping split) whenever there is some.

Here each trains the same network with SGD and momentum at a deliberately high
initial rate, on the handwritten digits that ship with scikit-learn.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier

SCHEDULES = ["constant", "invscaling", "adaptive", "cosine", "plateau"]

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(
    X / 16, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# One fit per schedule
# --------------------
# A patience of 5 epochs (``n_iter_no_change``) for the stopping rule of
# 'constant', 'invscaling' and 'cosine' and for the reductions of 'adaptive' and
# 'plateau'. ``power_t=0.25`` slows 'invscaling' down: with scikit-learn's default
# of 0.5 its rate falls by a factor of 35 during the first epoch already. The
# validation data give every schedule a validation accuracy per epoch, and give
# 'plateau' the score it watches.
models = {}
for schedule in SCHEDULES:
    model = FCNNClassifier(
        (64,),
        solver="sgd",
        momentum=0.9,
        learning_rate=schedule,
        learning_rate_init=0.3,
        power_t=0.25,
        batch_size=32,
        max_iter=60,
        n_iter_no_change=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[schedule] = model.fit(X_train, y_train, X_val=X_val, y_val=y_val)

print(f"{'schedule':<12}{'epochs':>7}{'final loss':>12}{'validation accuracy':>21}")
for schedule, model in models.items():
    print(
        f"{schedule:<12}{model.n_iter_:>7}{model.loss_curve_[-1]:>12.4f}"
        f"{model.score(X_val, y_val):>21.3f}"
    )

# %%
# The curves
# ----------
# At this rate the constant schedule's loss jumps about and the stopping rule ends
# its fit early; 'cosine' starts as high but calms down as its rate decays;
# 'adaptive' and 'plateau' go on at a fifth of the rate each time progress stalls;
# 'invscaling' decays steadily. 'constant', 'adaptive' and 'plateau' coincide until
# a stall first reduces the rate. A cross marks the last epoch of each fit.
fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
# wider lines first, so that the curves that coincide all show
widths = dict(zip(models, [4.5, 1.5, 3, 1.5, 1.5]))
for schedule, model in models.items():
    epochs = range(1, model.n_iter_ + 1)
    style = {"lw": widths[schedule], "alpha": 0.8}
    (line,) = ax_loss.plot(epochs, model.loss_curve_, label=schedule, **style)
    ax_loss.plot(model.n_iter_, model.loss_curve_[-1], "x", color=line.get_color())
    ax_val.plot(epochs, model.validation_scores_, color=line.get_color(), **style)
    ax_val.plot(
        model.n_iter_, model.validation_scores_[-1], "x", color=line.get_color()
    )
ax_loss.set(yscale="log", xlabel="epoch", ylabel="training loss")
ax_loss.legend(title="learning_rate")
ax_val.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.85, 1.0))
for ax in (ax_loss, ax_val):
    ax.grid(alpha=0.3)
plt.show()
