"""sandpod: run untrusted scripts in isolated sandboxes with hard limits."""

__version__ = "0.1.0"
