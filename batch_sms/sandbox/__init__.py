"""The NXCloud simulator: the provider of `--sandbox` runs, the test double, `batch-sms sandbox`."""
