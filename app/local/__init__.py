"""The local machine: git diffs, first-parent history and the checkout's files."""
