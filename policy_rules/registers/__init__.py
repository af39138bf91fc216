"""Facts in, decisions out: facts files and registers, and the files written from them.

``facts`` reads and validates facts files (YAML, JSON, JSON Lines, CSV, read
as a stream where the format allows); ``register`` decides whole registers,
in one process or several, and summarises them; ``outputs`` writes every
file atomically and refuses to write over an input.
"""
