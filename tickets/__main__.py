import sys

from tickets.cli import main

sys.exit(main())
