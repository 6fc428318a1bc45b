"""What one function needs: its imports (the syntax-tree walk and the scan of its files),
what it loads by name, what the libraries it reaches import, and the distributions that
follow over Requires-Dist; the session `build`, `why` and `audit` share."""
