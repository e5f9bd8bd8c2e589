"""Landing: which objects exist in the source store and which partition each belongs to."""
