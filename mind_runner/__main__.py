import sys

from mind_runner.cli import main

sys.exit(main())
