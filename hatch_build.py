"""The package's build hook: compiles zarrkit's C loops, each into a library beside its
source, with the machine's C compiler (``$CC``, else ``cc``), for wheels and editable
installs alike: ``src/zarrkit/storage/readfiles.c`` and ``writefiles.c``
(:mod:`zarrkit.storage.native`), ``src/zarrkit/codecs/compression/decode_batch.c``
(:mod:`zarrkit.codecs.compression.zstd_batch` and ``blosc_batch``) and ``encoders.c``
beside it (:mod:`zarrkit.codecs.compression.encoders`).
Where one does not compile (no compiler, not POSIX) the build goes on without it and
zarrkit runs that loop in Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The C sources, each compiled into ``_<name>.so`` beside it.
SOURCES = (
    Path("src/zarrkit/storage/readfiles.c"),
    Path("src/zarrkit/storage/writefiles.c"),
    Path("src/zarrkit/codecs/compression/decode_batch.c"),
    Path("src/zarrkit/codecs/compression/encoders.c"),
)


class NativeLoop(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.name != "posix":
            return
        root = Path(self.root)
        for source in SOURCES:
            library = source.with_name(f"_{source.stem}.so")
            command = [os.environ.get("CC") or "cc", "-O2", "-shared", "-fPIC"]
            command += ["-o", str(root / library), str(root / source)]
            try:
                subprocess.run(command, check=True, capture_output=True, text=True)
            except (OSError, subprocess.CalledProcessError) as e:
                detail = getattr(e, "stderr", "") or e
                print(f"zarrkit: {source} not compiled ({detail}); run in Python", file=sys.stderr)
                continue
            build_data["artifacts"].append(library.as_posix())
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
