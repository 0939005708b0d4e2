"""The pure core: diff -> chunks -> tasks -> routes -> requests -> cost, with no I/O."""
