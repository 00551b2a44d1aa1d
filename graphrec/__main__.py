"""`python -m graphrec ...`: the same as `graphrec ...` (the form torchrun's `-m` starts in each process)."""

import sys

from graphrec.cli import main

sys.exit(main())
