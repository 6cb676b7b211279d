"""Media files on disk: locating a video's file, its content type, thumbnails, subtitle text.

This package sits beside ``storage`` (it never touches the database) and is used by the
entry points; heavy decoders are imported inside the functions that need them.
"""
