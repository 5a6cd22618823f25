"""Reading the project's YAML files with libyaml's C parser when it is there.

The content (answers with thousands of ways of asking, the safeguarding patterns) is read at
every start and reload: the pure-Python parser took 2.4 s for it, the C one 0.14 s. Both
are the safe loader: plain data only, never objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The data in a UTF-8 YAML file (None for an empty one)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (safe loader)
