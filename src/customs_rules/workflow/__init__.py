"""Workflows over a store: screening one declaration or a stream (`screener.Screener`,
and the registry load), the officer's submit, rescreen and outcomes (`officer`), and
batches at any scale on worker processes (`batch`, `batch_pool`, `batch_counts`) or a
Dask cluster (`cluster`)."""
