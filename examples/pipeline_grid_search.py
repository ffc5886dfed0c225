"""descend estimators inside scikit-learn: a Pipeline tuned by GridSearchCV.

Standardisation and a descend LogisticRegression in one Pipeline, the
penalty strength and the kind of gradient descent chosen by 5-fold
cross-validation on the breast-cancer data, then scored on held-out rows.
The same works for LinearRegression (here on the diabetes data, with
cross_val_score).

    python examples/pipeline_grid_search.py
"""
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from descend import LinearRegression, LogisticRegression

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0)

pipeline = make_pipeline(StandardScaler(), LogisticRegression(random_state=0))
search = GridSearchCV(pipeline, {
    "logisticregression__alpha": [1e-4, 1e-3, 1e-2],
    "logisticregression__batch_size": [None, 32],
}, cv=5)
search.fit(X_train, y_train)

print("mean cross-validated accuracy:")
for params, score in zip(search.cv_results_["params"],
                         search.cv_results_["mean_test_score"]):
    shown = ", ".join(f"{key.split('__')[1]}={value}" for key, value in params.items())
    print(f"  {shown:<30} {score:.4f}")
print(f"best: {search.best_params_}")
print(f"held-out accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

X, y = load_diabetes(return_X_y=True)
regression = make_pipeline(StandardScaler(), LinearRegression(alpha=1e-3))
scores = cross_val_score(regression, X, y, cv=5, scoring="r2")
print(f"\nLinearRegression on diabetes, 5-fold R^2: {scores.mean():.3f} "
      f"+/- {scores.std():.3f}")
