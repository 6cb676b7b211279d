"""Navigation and search: jump, find, global jump and the library gallery (SPEC §7).

Every answer is an index lookup on a projection table with the selection policy applied
inside the lookup; engine differences (full text) come from the storage backend.
"""
