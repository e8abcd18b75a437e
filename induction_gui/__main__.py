"""``python -m induction_gui`` behaves exactly like the ``induction-gui`` command."""

import sys

from .app import main

sys.exit(main())
