import sys

from mind_runner.commands.cli import main

sys.exit(main())
