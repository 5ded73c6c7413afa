"""Command-line entry point: `python -m stage1_monolith serve`."""
import sys

from stage1_monolith.cli import main

if __name__ == "__main__":
    sys.exit(main())
