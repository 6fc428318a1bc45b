"""`manifest.json`: its format (document), the one reader that checks every field, the
writer and the merge of sharded builds."""
