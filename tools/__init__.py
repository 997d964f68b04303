"""This repository's own tools, run from its root (`python -m tools.docs`): not part of the
installed gr-bench, which never imports them."""
