import sys

from atlas_desk.cli import main

sys.exit(main())
