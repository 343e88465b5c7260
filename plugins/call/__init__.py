"""Built-in notifyd plugins: phone calls."""
