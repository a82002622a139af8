"""Markdown keeps no image from another site: a remote image is a tracking pixel."""

import pytest

from privacy.markdown import render_markdown


@pytest.mark.parametrize(
    "source",
    [
        "![pixel](https://tracker.example/open.gif?u=42)",
        "![pixel](http://tracker.example/open.gif)",
        "![pixel](//tracker.example/open.gif)",
        '<img src="https://tracker.example/open.gif" alt="pixel">',
        '<IMG SRC="HTTPS://TRACKER.EXAMPLE/OPEN.GIF" ALT="pixel">',
        '<img src=" https://tracker.example/open.gif" alt="pixel">',
        '<img src="/\\\\tracker.example/open.gif" alt="pixel">',
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="pixel">',
    ],
)
def test_a_remote_image_is_dropped_and_its_alt_text_stays(source):
    html = render_markdown(f"Hello {source} there")

    assert "<img" not in html
    assert "tracker.example" not in html.lower()
    assert "pixel" in html
    assert html.startswith("<p>Hello ")


def test_an_image_of_our_own_stays():
    html = render_markdown("![logo](/static/img/logo.png)")

    assert html == '<p><img alt="logo" src="/static/img/logo.png"></p>'


def test_the_alt_text_left_behind_stays_escaped():
    html = render_markdown('<img src="https://t.example/p.gif" alt="<script>alert(1)</script>">')

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_links_to_other_sites_are_kept():
    html = render_markdown("[our blog](https://blog.example/post)")

    assert 'href="https://blog.example/post"' in html
