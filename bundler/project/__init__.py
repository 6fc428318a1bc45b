"""What the site's own files say: settings, declared requirements and lock files, the
functions with their routes and schedules; and which files may be read at all (regular
files inside the site, or inside a distribution's site-packages)."""
