"""History: an arena's state at any seq of its log (`state`), folded from the log
(`fold`), and forks that start a new arena from such a state (`fork`)."""
