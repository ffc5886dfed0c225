"""The --model table, and the option choices and defaults read from the
estimators themselves (their constraints tables and signatures), so that
the command cannot drift from what the estimators accept."""
from __future__ import annotations

import inspect

#: --model: the descend estimator and its task.
MODELS = {
    "linear": ("LinearRegression", "regression"),
    "logistic": ("LogisticRegression", "classification"),
    "sgd-classifier": ("SGDClassifier", "classification"),
    "sgd-regressor": ("SGDRegressor", "regression"),
}
#: the models that take --loss and --epsilon
SGD_MODELS = ("sgd-classifier", "sgd-regressor")
#: the model of the same family for the other task (suggested when the
#: target does not suit the model asked for)
OTHER_TASK = {"linear": "logistic", "logistic": "linear",
              "sgd-classifier": "sgd-regressor", "sgd-regressor": "sgd-classifier"}


def model_class(name):
    """The estimator class of a --model name."""
    from .. import LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor

    classes = (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor)
    return {cls.__name__: cls for cls in classes}[MODELS[name][0]]


def options(name, parameter):
    """The strings the constraints table of --model NAME accepts for a
    parameter, in the table's order."""
    found = []
    for form in model_class(name)._parameter_constraints[parameter]:
        found += list(getattr(form, "options", ()))
    return found


def choices(parameter, models=MODELS):
    """The strings any of these models accepts for a parameter (a value
    one of them refuses is that estimator's one-line error)."""
    found = []
    for name in models:
        found += [o for o in options(name, parameter) if o not in found]
    return found


def _shown(value):
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _and(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def defaults(parameter, models=MODELS):
    """'default: ...' of a parameter, read from the estimators' signatures:
    one value, or which models have which."""
    groups = {}
    for name in models:
        default = inspect.signature(model_class(name)).parameters[parameter].default
        groups.setdefault(_shown(default), []).append(name)
    if len(groups) == 1:
        return f"default: {next(iter(groups))}"
    return "default: " + "; ".join(f"{value} for {_and(names)}"
                                   for value, names in groups.items())


def model_label(model):
    """The estimator's name, with its loss when it has a choice of losses."""
    name = type(model).__name__
    return f"{name}(loss={model.loss!r})" if "loss" in model.get_params() else name
