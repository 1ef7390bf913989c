"""The seed's comparison: which benchmarks it reads, the model, text and JSON renderings."""
