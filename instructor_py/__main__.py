"""``python -m instructor_py``: the command line (:mod:`instructor_py.cli`)."""

import sys

from instructor_py.cli import main

sys.exit(main())
