"""What many tests share that is not a fixture: helpers, constants, servers to run."""
