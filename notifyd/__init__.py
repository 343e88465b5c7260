"""notifyd: permit-expiry voice-note notifications."""
