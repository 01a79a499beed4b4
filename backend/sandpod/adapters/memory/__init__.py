"""In-process adapters for embedded mode: product code, held to the same contract tests."""
