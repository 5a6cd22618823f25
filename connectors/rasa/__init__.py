"""What runs inside the Rasa server: the guarded channels, the input guard, exactly-once
processing, the circuit breaker, the tracker store and start-up speed-ups."""
