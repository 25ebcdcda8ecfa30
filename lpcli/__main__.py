"""``python -m lpcli`` (and the ``lp`` console script): see :mod:`lpcli.app`."""

from __future__ import annotations

from lpcli.app import app


def main() -> None:
    """Run ``lp``."""
    app(prog_name="lp")


if __name__ == "__main__":
    main()
