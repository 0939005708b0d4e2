"""tiered-review: route each part of a PR to the cheapest model tier that reviews it well."""
