"""`python -m sandpod` is the `sandpod` command."""

from sandpod.entrypoints.cli import main

main()
