"""Plugins that exist only for tests; real plugins, registered the way operators' are."""
