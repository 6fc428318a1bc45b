"""What goes in a zip, and writing it: the contents (first-party files and distributions),
Lambda's limits, binaries that fit the target (fetched and compiled when asked), the
deterministic zip writer and the output folder."""
