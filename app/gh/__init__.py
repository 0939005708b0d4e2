"""GitHub: webhook classification, comment commands, markers, and PyGithub behind one client."""
