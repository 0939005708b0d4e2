"""Model APIs behind one Provider protocol: the registry and one adapter per SDK."""
