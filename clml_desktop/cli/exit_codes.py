"""Exit codes the headless commands share, so a script can tell "all done"
from "partly done" from "nothing done" (issue 13: an export that failed for
most of its files used to exit 0). ADR 0015 has the table."""

from __future__ import annotations

DONE = 0  # everything asked for was done
FAILED = 1  # nothing was done: bad arguments, no collection, or every file failed
USAGE = 2  # the command line was wrong: a folder that is not one, an unknown image or tag
PARTIAL = 3  # some of it was done; what was not is listed on stderr

HELP = (
    "Exit status: 0 every file written or already up to date; "
    "3 partly done: some files were not written (each is named on stderr); "
    "1 nothing written, or the export could not start."
)
