"""Simulates an install without some packages: `import X` fails for every X named in
`KERAS_NTED_BLOCK_IMPORTS` (comma-separated), as if it were not installed. Put this folder first on
PYTHONPATH of a subprocess (tests/test_bad_inputs.py does). `KERAS_NTED_SLOW_IMPORTS` names
packages whose first import waits 600 s, as on a very slow disk (tests/test_cli.py interrupts one: the
wait ends only by the signal, however long a loaded machine takes to send it)."""

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
            time.sleep(600)
        return None


sys.meta_path.insert(0, _Blocker())
