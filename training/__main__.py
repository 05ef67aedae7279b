"""`python -m training ...` (and `torchrun -m training fit ...`).

OpenMP threads wait passively unless told otherwise. The trainer shares a
person's few cores with the app and everything else they run; torch's default
busy-waiting then burns 2.5-3.5x the CPU for the same step and made a
resnet18 step 2-4x slower in wall time on the shared 2-core machine (ADR
0004). The variable is read when torch loads its OpenMP runtime, so it is set
before anything imports torch.
"""

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from training.cli import main  # noqa: E402 - after the OpenMP setting, on purpose

sys.exit(main())
