"""Layer 1, the bottom: small tools every other layer uses. Nothing here imports another neft layer."""
