"""The one decision: pure rules over every agency's case, and the signed document the trader gets."""
