"""Built-in e-mail channel."""
