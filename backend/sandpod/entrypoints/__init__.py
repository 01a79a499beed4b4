"""Entry points: the `sandpod` command, the worker process loop, and the CLI's HTTP client and
stored credentials. Nothing imports this package; it imports composition."""
