"""tbparse emulation: :class:`SummaryReader` and the parts of ``tbparse.SummaryReader``'s
surface that are not DataFrames (static helpers, the tree of child readers, raw events)."""
