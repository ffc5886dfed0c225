"""``python -m descend.cli``: the ``descend`` command."""
import sys

from . import main

sys.exit(main())
