"""Side-by-side benchmarks (``make bench``); not tests."""
