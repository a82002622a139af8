from datetime import timedelta

from django.utils import timezone

from accounts.models import User


def test_signup_prefills_the_browsers_time_zone_and_completes(live_server, new_page):
    page = new_page(timezone_id="America/Denver")
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text),
    )

    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Date of birth").fill("1991-06-15")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/accounts/signup/")

    assert page.get_by_label("Time zone").input_value() == "America/Denver"
    assert page.get_by_label("Tell us where").is_hidden()
    page.get_by_label("How did you hear about us?").select_option("other")
    assert page.get_by_label("Tell us where").is_visible()
    page.get_by_label("Tell us where").fill("A meetup")
    page.get_by_label("Full name").fill("Rosalind Franklin")
    page.get_by_label("Email", exact=True).fill("rosalind@example.com")
    page.get_by_label("Password", exact=True).fill("double-helix-1952")
    page.get_by_label("Password (again)").fill("double-helix-1952")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/accounts/confirm-email/")

    user = User.objects.get(email="rosalind@example.com")
    assert (user.time_zone, user.how_heard, user.how_heard_other) == (
        "America/Denver",
        "other",
        "A meetup",
    )
    assert violations == []


def test_an_under_13_refusal_holds_the_browser(live_server, new_page):
    page = new_page()
    too_young = (timezone.localdate() - timedelta(days=365 * 10)).isoformat()

    page.goto(f"{live_server.url}/accounts/signup/age/")
    page.get_by_label("Date of birth").fill(too_young)
    page.get_by_role("button", name="Continue").click()

    assert page.get_by_role("heading", name="We can't create an account").is_visible()
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.get_by_role("heading", name="We can't create an account").is_visible()
    assert not User.objects.exists()


def test_the_layout_fits_a_phone(live_server, new_page):
    page = new_page(viewport={"width": 375, "height": 740})

    page.goto(f"{live_server.url}/")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
