"""The ```python blocks of the user-facing docs run, in order, each page's
blocks in one namespace (as a reader pasting them would), in a scratch
directory."""
import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["migration.md", "persistence.md"]


def python_blocks(path):
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


@pytest.mark.parametrize("page", PAGES)
def test_the_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(DOCS / page)
    assert blocks, f"{page} has no python blocks"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__doc_page__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the docs' fits converge
        for i, block in enumerate(blocks):
            exec(compile(block, f"{page} block {i + 1}", "exec"), namespace)  # noqa: S102
