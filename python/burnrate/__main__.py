"""`python -m burnrate ARGS...` runs the `burnrate` binary with ARGS and its exit code."""

import os
import subprocess
import sys

from ._binary import find_burnrate_bin


def main() -> int:
    binary = find_burnrate_bin()
    if sys.platform == "win32":
        return subprocess.call([binary, *sys.argv[1:]])
    os.execv(binary, [binary, *sys.argv[1:]])
    return 0  # not reached: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())
