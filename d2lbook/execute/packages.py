"""Versions of packages as a kernel's Python sees them (``build.cache_key_packages``).

They enter every cache key, so a book executed with torch 2.3 is never answered
by outputs made with torch 2.2, and upgrading a listed package re-executes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ExecutionError

VERSIONS_SCRIPT = """\
import json, sys
from importlib import metadata
versions = {}
for name in sys.argv[1:]:
    try:
        versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        versions[name] = None
print(json.dumps(versions))
"""
NOT_INSTALLED = "not installed"


def kernel_python(kernel: str) -> str:
    """The Python executable a kernel runs, from its kernel spec (this one for ``python3``)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel).argv
    except NoSuchKernel:
        raise ExecutionError(f"no Jupyter kernel named {kernel!r} (build.kernel)") from None
    # jupyter_client runs a spec whose program is a bare "python" with this interpreter
    if not argv or argv[0] in ("python", "python3", f"python{sys.version_info[0]}"):
        return sys.executable
    return argv[0]


def package_versions(
    kernel: str, packages: Sequence[str], environment: Mapping[str, str], cwd: Path
) -> tuple[tuple[str, str], ...]:
    """``(package, version)`` for each package, as the kernel's Python imports them."""
    if not packages:
        return ()
    command = [kernel_python(kernel), "-c", VERSIONS_SCRIPT, *packages]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        versions = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        raise ExecutionError(
            f"cannot read the versions of build.cache_key_packages with the "
            f"kernel {kernel!r}'s Python: {error}"
        ) from None
    return tuple((name, str(versions.get(name) or NOT_INSTALLED)) for name in packages)
