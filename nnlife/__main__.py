"""``python -m nnlife COMMAND ...``: the ``nnlife`` command (e.g. ``python -m nnlife data FashionMNIST``)."""

import sys

from .cli import main

sys.exit(main())
