"""One folder per technology, each implementing ports from sandpod.ports."""
