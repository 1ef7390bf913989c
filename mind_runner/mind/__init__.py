"""Everything that knows MIND: models, program dialects, gradient IR, the mindc driver."""
