"""One module per `python -m mind_runner` verb, the parser, and the project configuration."""
