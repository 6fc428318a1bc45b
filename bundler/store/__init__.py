"""The cache folder and what it stores by content: deflated blobs, their files and packs."""
