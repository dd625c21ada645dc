"""Python backend: a construct reference codec and a straight-line fast path."""
