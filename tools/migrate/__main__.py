import sys

if not __package__:  # started as a file or folder (python tools/migrate), where its relative imports cannot work
    sys.exit("tools.migrate: run it from the repository root with the project's virtualenv: "
             ".venv/bin/python -m tools.migrate ...")

from .cli import main

sys.exit(main())
