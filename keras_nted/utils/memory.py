"""How much memory the machine has free: the bound for sizes a user asks for, checked before allocating."""


def available_memory():
    """Bytes of memory a new allocation can get now (Linux: `MemAvailable`), else the physical size.

    Returns `None` where neither can be read.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import os

    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(argument, received, needed, what):
    """A `ValueError` naming `argument` when `needed` bytes exceed the memory available now.

    Args:
        argument: the argument as the user typed it (e.g. `"--batch-size"`).
        received: its value, for the message.
        needed: bytes the request needs at least.
        what: what needs them (e.g. `"the batch's inputs alone"`).

    Example:

    >>> check_fits_in_memory("--batch-size", 10**12, 10**20, "the inputs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Expected --batch-size that fits in memory: the inputs need 100000000000.0 GB, ...
    """
    available = available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"Expected {argument} that fits in memory: {what} need {needed / 1e9:.1f} GB, "
            f"{available / 1e9:.1f} GB available. Received: {argument} {received}"
        )
