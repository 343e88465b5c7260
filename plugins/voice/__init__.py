"""Built-in notifyd plugins."""
