"""Every public class and function: numpydoc parameters match the signature,
and the type hints resolve."""
import inspect
import re
import typing

import pytest

import descend


def public_callables():
    for name in descend.__all__:
        obj = getattr(descend, name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            yield name, obj
            for attr, member in vars(obj).items():
                if callable(member) and not attr.startswith("_"):
                    yield f"{name}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


def documented_parameters(doc):
    section = re.search(r"Parameters\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)",
                        doc, flags=re.S)
    if section is None:
        return []
    indent = min(len(m.group(1)) for m in re.finditer(r"^( *)\S", section.group(1), re.M))
    return re.findall(rf"^ {{{indent}}}(\w+) :", section.group(1), flags=re.M)


CALLABLES = list(public_callables())


def test_the_public_api_is_listed():
    names = {name for name, _ in CALLABLES}
    assert {"LinearRegression", "LogisticRegression", "History", "plot_histories",
            "LinearRegression.fit", "LogisticRegression.partial_fit",
            "LogisticRegression.predict_proba", "History.plot"} <= names


@pytest.mark.parametrize("name, obj", CALLABLES, ids=[name for name, _ in CALLABLES])
def test_numpydoc_parameters_match_the_signature(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = [p for p in inspect.signature(target).parameters if p != "self"]
    if inspect.isclass(obj) and obj.__init__ is object.__init__:
        params = []
    assert documented_parameters(doc) == params, name


@pytest.mark.parametrize("name, obj", CALLABLES, ids=[name for name, _ in CALLABLES])
def test_type_hints_resolve(name, obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    if target is object.__init__:
        return
    module = inspect.getmodule(target)
    hints = typing.get_type_hints(target, globalns=vars(module))
    params = [p for p in inspect.signature(target).parameters if p != "self"]
    assert set(params) <= set(hints), (name, set(params) - set(hints))
