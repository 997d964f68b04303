"""Peak resident memory of one run inside a long-lived process.

``ru_maxrss`` only ever rises, so a second run in the same process would report the first run's
peak. On Linux, writing 5 to /proc/self/clear_refs resets the high-water mark (VmHWM) to the
current RSS; elsewhere we fall back to ru_maxrss and say so in the recorded method.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_CLEAR = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def reset_peak_rss() -> str:
    """Reset the peak-RSS counter if the OS allows; returns the method used for the reading."""
    try:
        _CLEAR.write_text("5")
        return "VmHWM after clear_refs"
    except OSError:
        return "ru_maxrss (process lifetime)"


def peak_rss_bytes() -> int:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024
