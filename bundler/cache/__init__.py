"""The function cache: its entries and their key (which inputs decide a zip's bytes), and
the index that finds an unchanged function by stat, without analysing it."""
