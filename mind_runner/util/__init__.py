"""The bottom layer: helpers every other subpackage may use, importing none of them."""
