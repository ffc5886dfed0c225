"""Optimizers compared on the breast-cancer data, plotted with plot_histories.

Mini-batch (32 rows) logistic regression with each update rule at its
default step size, and full-batch gradient descent with a line search, for
a fixed budget of epochs. Prints the final training objective of each and
saves a convergence plot (relative gap to the optimum against the epoch).

    python examples/compare_optimizers.py [OUTPUT_DIR]

The PNG goes to OUTPUT_DIR (default: a new temporary directory). The plot
needs matplotlib (``pip install 'descend[plot]'``); without it the
comparison is printed and the plot skipped.
"""
import os
import sys
import tempfile

from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from descend import LogisticRegression, plot_histories

EPOCHS = 60
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)

# The optimum: full batch with a line search, run to a tight tolerance.
reference = LogisticRegression(learning_rate="line_search", tol=1e-10,
                               max_iter=5000).fit(X, y)
f_star = reference.history_["objective"].min()

fits = {"full batch, line search": LogisticRegression(
    learning_rate="line_search", tol=None, max_iter=EPOCHS).fit(X, y)}
for optimizer in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"):
    fits[f"batch_size=32, {optimizer}"] = LogisticRegression(
        optimizer=optimizer, batch_size=32, tol=None, max_iter=EPOCHS,
        random_state=0).fit(X, y)

print(f"optimum f* = {f_star:.6f}; after {EPOCHS} epochs:")
for name, model in fits.items():
    print(f"  {name:<26} objective {model.history_[-1]['objective']:.6f}  "
          f"eta0_ {model.eta0_:.3g}  {1000 * model.history_[-1]['seconds']:.1f} ms")

try:
    import matplotlib
except ImportError:
    print("matplotlib is not installed (pip install 'descend[plot]'): plot skipped.")
    sys.exit(0)
matplotlib.use("Agg")  # draw to a file, no window

ax = plot_histories(fits, x="epoch", relative_to=f_star,
                    title="Logistic regression on breast cancer")
output_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="descend-")
path = os.path.join(output_dir, "compare_optimizers.png")
ax.figure.savefig(path, dpi=100, bbox_inches="tight")
print(f"plot saved to {path}")
