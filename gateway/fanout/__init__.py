"""Fan-out: routing to agencies, the outbox dispatchers, circuit breakers and agencies' callbacks."""
