"""The NXCloud SMS API: the protocol and client, reconciliation, the delivery-receipt server."""
