"""`python -m graphrec.cli ...`: the same as `graphrec ...`."""

import sys

from graphrec.cli import main

sys.exit(main())
