"""bundler: one Lambda-ready zip per Python serverless function."""

__version__ = "0.1.0"
