"""``python -m dlr_core.tracking``: the ``dlr-track`` command."""

from dlr_core.tracking.cli import main

raise SystemExit(main())
