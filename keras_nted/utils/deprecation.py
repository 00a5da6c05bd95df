"""Old public names kept working for one release, with a `DeprecationWarning`.

keras-nted spells `color` as keras does; `colour` (its earlier spelling in appearance control)
still works until the next release: the `colour_loss` function, the `colour_weight` argument and
attribute, and the `"colour"` key of `AppearanceResult.history`. `GeneratorParts.texture_encoder`
is now `reference_encoder`, as the paper and the generator name it.
"""

import warnings

# old spelling -> new spelling, for the keys of `AppearanceResult.history`
RENAMED_KEYS = {"colour": "color"}


def warn_renamed(old, new, stacklevel=3, reason="keras' spelling"):
    """Warns that the public name `old` is deprecated in favour of `new` (`reason`)."""
    warnings.warn(
        f"`{old}` is deprecated and will be removed in the next release: use `{new}` ({reason}).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_argument(old, old_value, new, new_value, default=None):
    """The value of a renamed keyword argument: `new_value`, or `old_value` (with a warning) when only it is given.

    Raises:
        TypeError: when both spellings are given.
    """
    if old_value is default:
        return new_value
    if new_value is not default:
        raise TypeError(f"Got both `{new}` and its deprecated spelling `{old}`: give only `{new}`.")
    warn_renamed(old, new, stacklevel=4)
    return old_value


class RenamedKeyDict(dict):
    """A dict that still answers to the deprecated spellings of its keys (`RENAMED_KEYS`), with a warning.

    Iteration, `len` and serialisation see the new keys only.
    """

    def __getitem__(self, key):
        return super().__getitem__(self._new_key(key))

    def get(self, key, default=None):
        return super().get(self._new_key(key), default)

    def __contains__(self, key):
        return super().__contains__(self._new_key(key))

    def _new_key(self, key):
        new = RENAMED_KEYS.get(key) if isinstance(key, str) else None
        if new is None or super().__contains__(key):
            return key
        warn_renamed(f'history["{key}"]', f'history["{new}"]', stacklevel=4)
        return new
