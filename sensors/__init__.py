"""Sensors that turn objects in the source store into partitions and run requests."""
