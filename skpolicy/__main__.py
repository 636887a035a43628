"""``python -m skpolicy``: see :mod:`skpolicy._cli`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
