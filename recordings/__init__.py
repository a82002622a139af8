"""Meeting recordings: capture, processing, the library and retention."""
