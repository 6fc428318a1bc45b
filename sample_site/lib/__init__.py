"""Code shared by several functions of the site (stdlib only).

Functions import it as ``lib`` (``from lib.responses import json_response``), so
the bundler must put this package at the root of every zip that uses it.
"""
