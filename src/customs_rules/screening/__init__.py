"""The set-at-a-time screening core (design.md §3): a set of declarations as columns in,
decisions, findings and evidence out. `frames` defines the columns that cross between
reading, the core and the store."""
