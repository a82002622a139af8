import re
from datetime import date
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import Resolver404, resolve, reverse

from privacy.cookies import all_cookies
from privacy.email_categories import SUBSCRIPTIONS, Category
from privacy.models import PolicyDocument, ThirdParty
from privacy.pi_categories import PersonalInfoCategory
from privacy.policies import documents, generated
from privacy.policies.documents import PolicyTextError, load_all
from privacy.policies.selectors import rendered_policy

from .policy_texts import point_loader_at, write_version


@pytest.fixture
def texts_dir(tmp_path, monkeypatch):
    return point_loader_at(tmp_path, monkeypatch)


LAUNCH = date(2026, 11, 28)
ON_LAUNCH_DAY = time_machine.travel("2026-11-28 12:00:00+00:00", tick=False)

EXTRA_SCRIPT = {
    "provider": "Example Analytics | Ltd",
    "category": "analytics",
    "src": "https://analytics.example.net/a.js",
    "cookies": [
        {"name": "_ex_id", "purpose": "Counts <b>visits</b> | per day", "lifetime": "1 day"}
    ],
}


def _page(client, name, **kwargs) -> str:
    response = client.get(reverse(name, kwargs=kwargs or None))
    assert response.status_code == 200
    return response.content.decode()


# --- The real texts ------------------------------------------------------------------


def test_every_real_version_loads_and_renders_without_a_marker_left(db):
    loaded = load_all()

    assert set(loaded) == {PolicyDocument.PRIVACY, PolicyDocument.COOKIES}
    for versions in loaded.values():
        for version in versions:
            html = rendered_policy(version=version).html
            assert "[[" not in html and "generated:" not in html
            assert version.changes


def test_the_real_privacy_policy_has_a_material_second_version_in_effect_today(db):
    with ON_LAUNCH_DAY:
        current = documents.current_version(PolicyDocument.PRIVACY)

    assert current is not None
    assert (current.version, current.effective, current.material) == (2, LAUNCH, True)
    first = documents.all_versions(PolicyDocument.PRIVACY)[0]
    assert (first.material, first.changes) == (False, ("First published version.",))


@ON_LAUNCH_DAY
def test_the_policy_page_shows_last_modified_what_changed_and_earlier_versions(client, db):
    html = _page(client, "privacy:policy")

    assert "Last modified" in html and "28 November 2026" in html
    assert "What changed in version 2" in html
    assert "Global Privacy Control" in html
    assert reverse("privacy:policy_version", kwargs={"version": 1}) in html
    assert "This is an earlier version" not in html


@ON_LAUNCH_DAY
def test_the_policy_has_a_table_of_contents_linking_its_headings(client, db):
    html = _page(client, "privacy:policy")

    anchors = re.findall(r'<h2 id="([^"]+)">', html)
    assert "who-we-share-it-with" in anchors
    toc = html[html.index('class="policy-toc"') : html.index("</nav>", html.index("policy-toc"))]
    assert 'href="#who-we-share-it-with"' in toc
    assert 'href="#children"' in toc


@ON_LAUNCH_DAY
def test_an_earlier_version_says_so_and_links_the_current_one(client, db):
    html = _page(client, "privacy:policy_version", version=1)

    assert "This is an earlier version" in html
    assert f'href="{reverse("privacy:policy")}"' in html
    assert "First published version." in html
    assert reverse("privacy:policy_version", kwargs={"version": 2}) in html


@ON_LAUNCH_DAY
def test_the_cookie_policy_lists_every_registered_cookie(client, db, settings):
    settings.THIRD_PARTY_SCRIPTS = [EXTRA_SCRIPT]

    html = _page(client, "privacy:cookie_policy")

    assert "Last modified" in html
    assert "uniquely identify your Internet browser" in html
    for cookie in all_cookies():
        assert f"<td>{cookie.name}</td>" in html
    assert "Example Analytics | Ltd" in html


def test_unknown_versions_are_not_found(client, db):
    assert client.get(reverse("privacy:policy_version", kwargs={"version": 99})).status_code == 404
    assert (
        client.get(reverse("privacy:cookie_policy_version", kwargs={"version": 99})).status_code
        == 404
    )


@ON_LAUNCH_DAY
def test_links_inside_the_policies_lead_to_pages_of_this_site(db):
    for document in PolicyDocument:
        html = rendered_policy(version=documents.current_version(document)).html
        for href in re.findall(r'href="([^"]+)"', html):
            path = urlsplit(href.replace("&amp;", "&")).path
            if href.startswith("mailto:"):
                continue
            try:
                resolve(path)
            except Resolver404:  # pragma: no cover - the assertion message is the point
                pytest.fail(f"{document} links to {href}, which is no page of ours")


def test_every_page_links_the_policies_and_california_rights_in_its_footer(client, db):
    html = _page(client, "home")

    footer = html[html.index("<footer") :]
    assert reverse("privacy:cookie_policy") in footer
    assert reverse("privacy:california") in footer
    assert "Your Privacy Rights" in footer


# --- Versions from a directory of our own --------------------------------------------


def test_a_future_version_is_invisible_until_its_date(client, db, texts_dir):
    write_version(texts_dir, "privacy", 1, effective=date(2026, 1, 1), body="## Old\n\nOld text.")
    write_version(
        texts_dir, "privacy", 2, effective=date(2027, 1, 1), body="## New\n\nNext year's text."
    )
    write_version(texts_dir, "cookies", 1, effective=date(2026, 1, 1))
    future = reverse("privacy:policy_version", kwargs={"version": 2})

    with time_machine.travel("2026-12-31 23:59:00+00:00", tick=False):
        current = client.get(reverse("privacy:policy")).content.decode()
        hidden = client.get(future)
    with time_machine.travel("2027-01-01 00:00:01+00:00", tick=False):
        published = client.get(reverse("privacy:policy")).content.decode()

    assert "Old text." in current and "Next year" not in current and future not in current
    assert hidden.status_code == 404
    assert "Next year's text." in published and "1 January 2027" in published


def test_no_version_in_effect_yet_means_no_page(client, db, texts_dir):
    write_version(texts_dir, "privacy", 1, effective=date(2030, 1, 1))

    with ON_LAUNCH_DAY:
        assert client.get(reverse("privacy:policy")).status_code == 404
        assert client.get(reverse("privacy:cookie_policy")).status_code == 404


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter\n", "no front matter"),
        ("---\nversion: 1\neffective: 2026-11-28\nmaterial: false\n---\nText\n", "exactly"),
        (
            "---\nversion: 1\neffective: 2026-11-28\nmaterial: false\nchanges: []\n---\nText\n",
            "changes",
        ),
        (
            '---\nversion: 2\neffective: 2026-11-28\nmaterial: false\nchanges: ["x"]\n---\nT\n',
            "file name",
        ),
        (
            '---\nversion: 1\neffective: "soon"\nmaterial: false\nchanges: ["x"]\n---\nT\n',
            "date",
        ),
        (
            '---\nversion: 1\neffective: 2026-11-28\nmaterial: "yes"\nchanges: ["x"]\n---\nT\n',
            "true or false",
        ),
        (
            '---\nversion: 1\neffective: 2026-11-28\nmaterial: false\nchanges: ["x"]\n---\n\n',
            "empty",
        ),
        ("---\nversion: [1\n---\nText\n", "YAML"),
    ],
)
def test_a_malformed_file_fails_when_loaded(texts_dir, text, problem):
    (texts_dir / "privacy").mkdir()
    (texts_dir / "privacy" / "v1.md").write_text(text)

    with pytest.raises(PolicyTextError, match=problem):
        load_all(texts_dir)


def test_an_unknown_marker_fails_when_loaded(texts_dir):
    write_version(texts_dir, "privacy", 1, effective=LAUNCH, body="## A\n\n[[generated:cookie]]")

    with pytest.raises(PolicyTextError, match="unknown generated section 'cookie'"):
        load_all(texts_dir)


def test_a_marker_that_is_not_alone_on_its_line_fails_when_loaded(texts_dir):
    write_version(texts_dir, "privacy", 1, effective=LAUNCH, body="See [[generated:cookies]].")

    with pytest.raises(PolicyTextError, match="alone on its line"):
        load_all(texts_dir)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"v1.md": date(2026, 1, 1), "v3.md": date(2026, 2, 1)}, "without gaps"),
        ({"v1.md": date(2026, 2, 1), "v2.md": date(2026, 1, 1)}, "before v1"),
        ({"notes.md": date(2026, 1, 1)}, "named v<number>"),
    ],
)
def test_versions_must_follow_each_other(texts_dir, files, problem):
    for name, effective in files.items():
        number = int(name[1]) if name[1].isdigit() else 1
        path = write_version(texts_dir, "privacy", number, effective=effective)
        path.rename(path.with_name(name))

    with pytest.raises(PolicyTextError, match=problem):
        load_all(texts_dir)


def test_an_unknown_document_folder_fails_when_loaded(texts_dir):
    write_version(texts_dir, "terms", 1, effective=LAUNCH)

    with pytest.raises(PolicyTextError, match="not a policy document"):
        load_all(texts_dir)


# --- Generated sections --------------------------------------------------------------


def test_an_unknown_marker_raises_when_expanded():
    with pytest.raises(KeyError):
        generated.expand("Intro\n[[generated:nothing_like_this]]\n")


def test_the_cookie_tables_hold_every_cookie_with_escaped_text(settings):
    settings.THIRD_PARTY_SCRIPTS = [EXTRA_SCRIPT]
    from privacy.markdown import render_markdown

    html = render_markdown(generated.expand("[[generated:cookies]]"))

    for cookie in all_cookies():
        assert f"<td>{cookie.name}</td>" in html
    row = html[html.index("<td>_ex_id</td>") : html.index("</tr>", html.index("_ex_id"))]
    assert row.count("<td>") == 4  # the pipe in the purpose did not split the cell
    assert "Counts &lt;b&gt;visits&lt;/b&gt; | per day" in row
    assert "<b>" not in row
    assert "No cookie in this category is set." in html  # marketing has none


def test_the_email_section_names_every_category_and_transactional_mail(db):
    markdown = generated.expand("[[generated:email_categories]]")

    assert str(Category.TRANSACTIONAL.label) in markdown
    assert "always sent" in markdown
    for item in SUBSCRIPTIONS:
        assert str(item.category.label) in markdown
    assert reverse("privacy:email_preferences") in markdown


def test_the_third_party_section_lists_active_parties_only(db):
    ThirdParty.objects.create(
        slug="gone",
        name="Former Mailer Co",
        postal_address="1 Old Road",
        role=ThirdParty.Role.SERVICE_PROVIDER,
        business="Email",
        purpose="Used to send mail",
        categories=["email"],
        confidentiality_agreement=True,
        active=False,
    )
    ThirdParty.objects.create(
        slug="pipes",
        name="Pipe | Works",
        postal_address="2 New Road",
        role=ThirdParty.Role.SERVICE_PROVIDER,
        business="Data centers",
        purpose="Runs *servers*",
        categories=["email", "telephone"],
        confidentiality_agreement=False,
        privacy_policy_url="https://pipes.example.org/privacy",
    )

    with ON_LAUNCH_DAY:
        html = rendered_policy(version=documents.current_version(PolicyDocument.PRIVACY)).html

    for party in ThirdParty.objects.filter(active=True):
        assert party.name.replace("&", "&amp;") in html
        assert party.postal_address in html
    assert "Former Mailer Co" not in html
    assert "Pipe | Works" in html and "Runs *servers*" in html
    assert str(PersonalInfoCategory.TELEPHONE.label) in html
    # Their privacy policy is linked through the leaving notice, never directly.
    assert 'href="https://pipes.example.org/privacy"' not in html
    assert reverse("privacy:leaving") + "?to=https%3A%2F%2Fpipes.example.org" in html


def test_the_contact_section_comes_from_settings(settings):
    settings.PRIVACY_CONTACT_EMAIL = "ask@confer.example"
    settings.COMPANY_POSTAL_ADDRESS = "Confer Inc., 1 Test Way"

    markdown = generated.expand("[[generated:contact]]")

    assert "mailto:ask@confer.example" in markdown
    assert "Confer Inc\\., 1 Test Way" in markdown
    assert "/contact/?topic=privacy" in markdown


# --- California ----------------------------------------------------------------------


def test_the_california_page_explains_shine_the_light_ccpa_and_gpc(client, db, settings):
    settings.PRIVACY_CONTACT_EMAIL = "ask@confer.example"

    html = _page(client, "privacy:california")

    for anchor in ("shine-the-light", "ccpa", "gpc"):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert "1798.83" in html and "once a year" in html and "free of charge" in html
    assert "California Privacy Rights Notice" in html and "30 days" in html
    assert "mailto:ask@confer.example" in html
    assert 'href="/contact/?topic=privacy"' in html
    assert "We do not share personal information with other companies for their direct" in html
    for right in ("To know", "To delete", "To correct", "opt out of the sale or sharing"):
        assert right in html
    assert "Global Privacy Control" in html


def test_the_california_page_does_not_deny_sharing_once_a_marketing_partner_exists(client, db):
    ThirdParty.objects.create(
        slug="partner",
        name="Partner",
        postal_address="3 Road",
        role=ThirdParty.Role.MARKETING_PARTNER,
        business="Ads",
        purpose="Ads",
        categories=["email"],
        confidentiality_agreement=True,
    )

    html = _page(client, "privacy:california")

    assert "We do not share personal information with other companies" not in html
    assert "Our notice lists each of those third parties" in html


def test_the_system_check_reports_a_malformed_text(texts_dir):
    from privacy.policies.checks import policy_texts_are_valid

    write_version(texts_dir, "privacy", 1, effective=LAUNCH, body="[[generated:nope]]")

    errors = policy_texts_are_valid()

    assert [error.id for error in errors] == ["privacy.E001"]
    assert "nope" in errors[0].msg


def test_the_system_check_passes_on_the_real_texts():
    from privacy.policies.checks import policy_texts_are_valid

    assert policy_texts_are_valid() == []


INLINE_STYLE = re.compile(r"<style|\sstyle=", re.I)


@ON_LAUNCH_DAY
@pytest.mark.parametrize(
    "path",
    [
        reverse("privacy:policy"),
        reverse("privacy:policy_version", kwargs={"version": 1}),
        reverse("privacy:cookie_policy"),
        reverse("privacy:california"),
    ],
)
def test_policy_pages_have_no_inline_script_or_style(client, db, path):
    response = client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html, re.I)
    assert not INLINE_STYLE.search(html)
