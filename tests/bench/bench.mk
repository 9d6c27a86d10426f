# (filled in by its folder's work)
