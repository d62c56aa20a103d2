"""Development and demo helpers shipped with the package: the local GitHub that `make demo` polls."""
