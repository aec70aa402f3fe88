"""Where the wheel installed the `burnrate` binary."""

import os
import shutil
import sys
import sysconfig

EXE = "burnrate.exe" if sys.platform == "win32" else "burnrate"


def find_burnrate_bin() -> str:
    """The `burnrate` binary: `$BURNRATE_BIN` when set, else the one this wheel installed next
    to the interpreter's scripts (venv, system or user scheme), else the first on `PATH`."""
    override = os.environ.get("BURNRATE_BIN")
    if override:
        if not os.path.isfile(override):
            raise FileNotFoundError(f"BURNRATE_BIN={override} does not exist")
        return override
    candidates = [sysconfig.get_path("scripts")]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        candidates.append(sysconfig.get_path("scripts", scheme=user_scheme))
    candidates.append(os.path.dirname(sys.executable))
    for directory in candidates:
        path = os.path.join(directory, EXE)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(EXE)
    if found:
        return found
    raise FileNotFoundError(
        "the burnrate binary is not installed next to this Python "
        f"(looked in {', '.join(candidates)} and PATH); reinstall the wheel or set BURNRATE_BIN"
    )
