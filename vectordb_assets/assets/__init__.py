"""The four assets of the pipeline, one module each."""
