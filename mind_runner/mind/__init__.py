"""Everything that knows MIND: models, dialects, gradient IR, mindc driver, gradient check."""
