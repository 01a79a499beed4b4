"""Long-running consumers. Each is a coroutine that runs until its stop event is set."""
