"""What every app shares, written once: formula-safe CSV, signed links, the viewer's zone.

Not a Django app (no models, templates or migrations): plain modules the apps import,
in the spirit of HackSoft's Django-Styleguide-Example ``common/utils.py``.
"""
