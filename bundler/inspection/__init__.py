"""Looking at what was built, or would be: `bundle audit` (with its page and the deep
look), `bundle why`, `bundle verify`, the zips' integrity, and the packages the Lambda
runtime provides when a zip runs here."""
