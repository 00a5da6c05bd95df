"""Simulates an install without some packages: `import X` fails for every X named in
`KERAS_NTED_BLOCK_IMPORTS` (comma-separated), as if it were not installed. Put this folder first on
PYTHONPATH of a subprocess (tests/test_bad_inputs.py does). `KERAS_NTED_SLOW_IMPORTS` names
packages whose first import waits 60 s, as on a slow disk (tests/test_cli.py interrupts one)."""

import os
import sys
import time

_BLOCKED = {name for name in os.environ.get("KERAS_NTED_BLOCK_IMPORTS", "").split(",") if name}
_SLOW = {name for name in os.environ.get("KERAS_NTED_SLOW_IMPORTS", "").split(",") if name}


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name in _SLOW:
            _SLOW.discard(name)
            time.sleep(60)
        return None


sys.meta_path.insert(0, _Blocker())
