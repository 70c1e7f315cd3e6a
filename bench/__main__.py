"""`python -m bench` from the repository root, with the project's venv python."""

import sys

from bench.cli import main

sys.exit(main())
