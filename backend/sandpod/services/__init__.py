"""Use cases. They depend only on sandpod.ports and sandpod.domain."""
