"""Server-rendered pages: the H5 cloud storefront a share link opens.

Handlers here translate between forms and the same services the JSON routes call; templates only show what
those services return.
"""
