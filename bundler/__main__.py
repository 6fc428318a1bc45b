"""`python -m bundler`: the same CLI as the `bundle` command."""

from bundler.cli import main

main()
