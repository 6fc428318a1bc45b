"""`bundle serve` and `bundle invoke`: the built functions run locally as Lambda runs them."""
