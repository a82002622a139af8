from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.template import engines
from django.urls import reverse

from privacy.markdown import render_markdown
from privacy.policies import links
from privacy.policies.links import BadTarget, notice_url, read_target, sign_target

TARGET = "https://stripe.com/privacy?lang=en&x=1"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://confer.example.test"
    settings.ALLOWED_HOSTS = ["confer.example.test", ".confer-cdn.test", "testserver"]


def _leaving(client, value, **headers):
    return client.get(
        reverse("privacy:leaving"), {"to": value} if value is not None else {}, **headers
    )


def test_the_notice_names_the_destination_and_links_it_safely(client, db):
    response = client.get(notice_url(TARGET))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="leaving-host">stripe.com</span>' in html
    assert "https://stripe.com/privacy?lang=en&amp;x=1" in html
    assert "own privacy policy" in html and "do not control" in html
    assert (
        '<a class="button" href="https://stripe.com/privacy?lang=en&amp;x=1" '
        'rel="noopener noreferrer nofollow">Continue to stripe.com</a>'
    ) in html
    assert ">Back</a>" in html
    assert 'name="robots" content="noindex"' in html


def test_back_returns_only_to_a_page_of_this_site(client, db):
    own = _leaving(client, sign_target(TARGET), HTTP_REFERER="http://testserver/privacy/policy/")
    foreign = _leaving(client, sign_target(TARGET), HTTP_REFERER="https://evil.example/")

    assert 'href="http://testserver/privacy/policy/">Back' in own.content.decode()
    assert "evil.example" not in foreign.content.decode()
    assert f'href="{reverse("home")}">Back' in foreign.content.decode()


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        TARGET,  # unsigned
        sign_target(TARGET).replace("stripe.com", "evil.example"),  # tampered target
        sign_target(TARGET)[:-2] + "xx",  # tampered signature
        signing.Signer(salt="another.purpose").sign(TARGET),  # signed for something else
        signing.Signer(salt=links.SALT).sign("javascript:alert(1)"),  # signed, but no web URL
    ],
)
def test_a_missing_unsigned_or_tampered_target_gets_a_clear_400(client, db, value):
    response = _leaving(client, value)

    page = response.content.decode()
    html = page[page.index("<main") : page.index("</main>")]  # other banners echo the path
    assert response.status_code == 400
    assert "This link does not work" in html
    assert "evil.example" not in html and "Continue to" not in html
    assert "Location" not in response


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        "ftp://files.example.org/x",
        "mailto:a@b.c",
        "/relative/path",
        "https://",
        "",
    ],
)
def test_only_web_addresses_can_be_signed(url):
    with pytest.raises(BadTarget):
        sign_target(url)


def test_a_signed_target_reads_back_as_it_was():
    assert read_target(sign_target(TARGET)) == TARGET
    query = parse_qs(urlsplit(notice_url(TARGET)).query)
    assert read_target(query["to"][0]) == TARGET


def test_the_template_tag_builds_the_notice_url_and_refuses_other_schemes():
    template = engines["django"].from_string(
        "{% load external_links %}[{% external_url good %}][{% external_url bad %}]"
    )

    rendered = template.render({"good": TARGET, "bad": "javascript:alert(1)"})

    good = rendered[1 : rendered.index("]")]
    assert good.startswith(reverse("privacy:leaving") + "?to=")
    assert read_target(parse_qs(urlsplit(good.replace("&amp;", "&")).query)["to"][0]) == TARGET
    assert rendered.endswith("[]")


def test_rendered_links_to_other_sites_go_through_the_notice():
    html = links.rewrite_external_links(
        render_markdown(
            "[out](https://stripe.com/privacy?a=1&b=2) "
            "[home](https://confer.example.test/meetings/) "
            "[cdn](https://img.confer-cdn.test/x.png) "
            "[test](http://testserver/privacy/) "
            "[relative](/privacy/cookies/) "
            "[anchor](#children) "
            "[mail](mailto:privacy@example.com)"
        )
    )

    hrefs = [part.split('"')[0] for part in html.split('href="')[1:]]
    assert hrefs[0].startswith(reverse("privacy:leaving") + "?to=")
    out = parse_qs(urlsplit(hrefs[0].replace("&amp;", "&")).query)["to"][0]
    assert read_target(out) == "https://stripe.com/privacy?a=1&b=2"
    assert hrefs[1:] == [
        "https://confer.example.test/meetings/",
        "https://img.confer-cdn.test/x.png",
        "http://testserver/privacy/",
        "/privacy/cookies/",
        "#children",
        "mailto:privacy@example.com",
    ]


def test_a_wildcard_allowed_host_does_not_make_every_site_ours(settings):
    settings.ALLOWED_HOSTS = ["*"]

    assert links.is_external("https://stripe.com/privacy")
    assert not links.is_external("https://confer.example.test/privacy/")
