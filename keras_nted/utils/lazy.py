"""Public names that load on first use (PEP 562), so that `keras-nted --help` imports no Keras."""

import importlib
import sys


def lazy_exports(namespace, exports):
    """Gives a package's `__init__` a PEP 562 `__getattr__` and `__dir__` serving `exports`.

    A public name's module is imported when the name is first used (`keras_nted.models`,
    `from keras_nted.models import NTEDGenerator`). When Keras is already loaded, nothing is
    saved by waiting, and the package's layers and models must be registered with Keras'
    serialization for `keras.saving.load_model`: then every name is imported at once.

    Args:
        namespace: the package's `globals()`.
        exports: `{public name: module}`; the name is that module's attribute of the same name,
            or the module itself when the module is `<package>.<name>`.

    Example:

    >>> namespace = {"__name__": "keras_nted.utils"}
    >>> lazy_exports(namespace, {"lazy_exports": "keras_nted.utils.lazy"})
    >>> namespace["__getattr__"]("lazy_exports") is lazy_exports
    True
    """
    package = namespace["__name__"]

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name])
        value = module if exports[name] == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value  # later uses are plain attribute reads
        return value

    def __dir__():
        return sorted(set(exports) | set(namespace))

    namespace["__getattr__"], namespace["__dir__"], namespace["__all__"] = __getattr__, __dir__, sorted(exports)
    if "keras" in sys.modules:
        for name in exports:
            __getattr__(name)
