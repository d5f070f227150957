import sys

if not __package__:  # started as a file or folder (python tools/compare), where its relative imports cannot work
    sys.exit("tools.compare: run it from the repository root with the project's virtualenv: "
             "make compare, or .venv/bin/python -m tools.compare ...")

from .cli import main

sys.exit(main())
