"""Steps in the history of a figure, said so a MIND developer can act on them."""
