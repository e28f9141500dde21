"""In-memory implementations of the storage ports, for fast unit tests of the services.

Each honours the same contract as the database implementation in gateway/storage/ (the same
domain errors, the same lease fencing, the same one-transaction-per-write outcome), in plain
Python without a database."""
