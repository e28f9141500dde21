"""Trust: certificates, the one XML signer and verifier, signed HTTP requests, and who may act for whom."""
