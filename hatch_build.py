"""The package's build hook: compiles ``src/zarrkit/storage/readfiles.c`` into
``_readfiles.so`` beside it with the machine's C compiler (``$CC``, else ``cc``), for wheels
and editable installs alike. Where that fails (no compiler, not POSIX) the build goes on
without it and zarrkit reads files in Python (:mod:`zarrkit.storage.native`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/zarrkit/storage/readfiles.c")
LIBRARY = SOURCE.with_name("_readfiles.so")


class NativeLoop(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.name != "posix":
            return
        root = Path(self.root)
        command = [os.environ.get("CC") or "cc", "-O2", "-shared", "-fPIC"]
        command += ["-o", str(root / LIBRARY), str(root / SOURCE)]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            detail = getattr(e, "stderr", "") or e
            print(f"zarrkit: {SOURCE} not compiled ({detail}); reading in Python", file=sys.stderr)
            return
        build_data["artifacts"].append(LIBRARY.as_posix())
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
