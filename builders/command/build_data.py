"""``[data]`` for a command build: what the gateway fetched from the backend (``BuildContext.data``,
part of the build's fingerprint) written to a JSON file whose path the build reads from
``SITEGATE_DATA``. A framework site's pages read their posts from it at build time, so a post
published through the API makes new data, a new build id and a rebuild, and the build itself
needs neither the network nor the backend's tenant headers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from builders.base import BuildContext, plain

# Inside the site's own tool folder, which is never an input (a dot folder) and which the build
# user may write to (Astro builds into it too).
DATA_DIR = ".sitegate"
DATA_FILE = "data.json"


def write_data(ctx: BuildContext) -> Path:
    """The data file of this build, under ``ctx.site_dir``, readable (and its folder writable) by
    the build user when there is one."""
    folder = ctx.site_dir / DATA_DIR
    folder.mkdir(exist_ok=True)
    path = folder / DATA_FILE
    path.write_text(json.dumps(plain(ctx.data), ensure_ascii=False, default=str), encoding="utf-8")
    if ctx.build_user is not None:
        for owned in (folder, path):
            os.chown(owned, ctx.build_user.uid, ctx.build_user.gid)
    return path
