"""`python -m app` runs the CLI."""

import sys

from app.cli import main

sys.exit(main())
