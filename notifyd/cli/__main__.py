"""`python -m notifyd.cli`: the same as the `notifyd` command."""

import sys

from notifyd.cli.main import main

sys.exit(main())
