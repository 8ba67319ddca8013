"""``python -m nnlife.cli COMMAND ...``: the ``nnlife`` command."""

import sys

from . import main

sys.exit(main())
