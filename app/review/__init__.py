"""The review: model output -> findings -> the rendered review, and the run that posts it."""
