"""`python -m training ...` (and `torchrun -m training fit ...`)."""

import sys

from training.cli import main

sys.exit(main())
