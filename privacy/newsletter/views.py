from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import MARKETING
from accounts.staff import role_required
from meetings.ratelimit import Limit, client_address, hit

from .. import audit, mailer
from ..email_categories import Category
from ..markdown import render_markdown
from ..models import Newsletter
from ..tokens import BadToken, ExpiredToken, read_newsletter_confirm_token
from . import selectors, services
from .forms import NewsletterForm, SignupForm

# Per client, on top of the three confirmation emails a day per address.
SIGNUP_ATTEMPTS = Limit("newsletter_signup", max_hits=10, window_seconds=60 * 60)
LOG_PAGE_SIZE = 100


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return _signup_page(request, form)
    retry_after = hit(SIGNUP_ATTEMPTS, client_address(request))
    if retry_after is not None:
        minutes = max(1, round(retry_after / 60))
        return _slow_down(
            request,
            "Too many sign-up attempts from your connection. "
            f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after,
        )
    if not form.is_valid():
        return _signup_page(request, form, status=400)
    try:
        services.request_signup(email=form.cleaned_data["email"])
    except services.TooManyConfirmations as exc:
        return _slow_down(request, exc.message, 24 * 60 * 60)
    return redirect("newsletter:signup_sent")


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/newsletter/signup_sent.html")


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); only the POST subscribes."""
    try:
        email = read_newsletter_confirm_token(token)
    except BadToken as exc:
        context = {"error": exc, "expired": isinstance(exc, ExpiredToken)}
        return render(request, "privacy/newsletter/confirm_invalid.html", context, status=400)
    if request.method == "GET":
        return render(request, "privacy/newsletter/confirm.html", {"email": email})
    try:
        services.confirm_signup(email=email)
    except services.NoSignup as exc:
        context = {"error": exc.message, "expired": False}
        return render(request, "privacy/newsletter/confirm_invalid.html", context, status=400)
    return render(request, "privacy/newsletter/confirmed.html", {"email": email})


@role_required(MARKETING)
def staff_list(request: HttpRequest) -> HttpResponse:
    context = {
        "newsletters": selectors.newsletters()[:200],
        "recipients": selectors.recipient_count(),
    }
    return render(request, "privacy/newsletter/staff_list.html", context)


@role_required(MARKETING)
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = NewsletterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            newsletter = services.create_draft(
                subject=form.cleaned_data["subject"],
                body_markdown=form.cleaned_data["body_markdown"],
                created_by=request.user,
            )
            messages.success(request, "Draft saved. Check the preview before sending.")
            return redirect("newsletter:staff_detail", pk=newsletter.pk)
        return _draft_form(request, form, newsletter=None, status=400)
    return _draft_form(request, form, newsletter=None)


@role_required(MARKETING)
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    if newsletter.status != Newsletter.Status.DRAFT:
        return _refused(request, services.NotADraft(newsletter))
    form = NewsletterForm(request.POST if request.method == "POST" else None, instance=newsletter)
    if request.method == "POST":
        if not form.is_valid():
            return _draft_form(request, form, newsletter=newsletter, status=400)
        try:
            services.update_draft(
                newsletter=newsletter,
                subject=form.cleaned_data["subject"],
                body_markdown=form.cleaned_data["body_markdown"],
            )
        except services.NotADraft as exc:
            return _refused(request, exc)
        messages.success(request, "Draft saved.")
        return redirect("newsletter:staff_detail", pk=newsletter.pk)
    return _draft_form(request, form, newsletter=newsletter)


@role_required(MARKETING)
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview: the body as rendered for recipients, and the footer they get."""
    newsletter = get_object_or_404(Newsletter, pk=pk)
    # Each recipient's links carry their own address; the preview uses the viewer's.
    footer = mailer.subscription_footer(
        email=request.user.email,  # type: ignore[union-attr]
        category=Category.NEWSLETTER,
    )
    text, _ = services.compose(
        subject=newsletter.subject, body_markdown=newsletter.body_markdown, footer=footer
    )
    context = {
        "newsletter": newsletter,
        "body_html": render_markdown(newsletter.body_markdown),
        "footer": footer,
        "text": text,
        "recipients": selectors.recipient_count(),
        "is_draft": newsletter.status == Newsletter.Status.DRAFT,
    }
    return render(request, "privacy/newsletter/staff_detail.html", context)


@role_required(MARKETING)
@require_POST
def staff_send_test(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    to = request.user.email  # type: ignore[union-attr]
    services.send_test(newsletter=newsletter, to=to)
    messages.success(request, f"A test copy is on its way to {to}.")
    return redirect("newsletter:staff_detail", pk=newsletter.pk)


@role_required(MARKETING)
@require_POST
def staff_send(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    try:
        services.start_sending(newsletter=newsletter)
    except services.NotADraft as exc:
        return _refused(request, exc)
    messages.success(
        request, "Sending has started. Messages go out in batches; this log shows each one."
    )
    return redirect("newsletter:staff_log", pk=newsletter.pk)


@role_required(MARKETING)
def staff_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The per-message send log. It lists subscribers' addresses, so it is audited."""
    newsletter = get_object_or_404(Newsletter, pk=pk)
    page = Paginator(selectors.deliveries_of(newsletter=newsletter), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record(
        actor=request.user,
        action="newsletter.send_log.view",
        target_type="newsletter",
        target_id=str(newsletter.pk),
        purpose="Check the delivery of a newsletter issue",
        details={"page": page.number, "rows": len(page.object_list)},
    )
    context = {
        "newsletter": newsletter,
        "page": page,
        "counts": selectors.delivery_counts(newsletter=newsletter),
        "outbox": selectors.outbox_counts(newsletter=newsletter),
    }
    return render(request, "privacy/newsletter/staff_log.html", context)


def _signup_page(request: HttpRequest, form: SignupForm, status: int = 200) -> HttpResponse:
    return render(request, "privacy/newsletter/signup.html", {"form": form}, status=status)


def _slow_down(request: HttpRequest, message: str, retry_after: int) -> HttpResponse:
    response = render(
        request, "privacy/newsletter/slow_down.html", {"message": message}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def _draft_form(
    request: HttpRequest, form: NewsletterForm, *, newsletter: Newsletter | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "newsletter": newsletter}
    return render(request, "privacy/newsletter/staff_form.html", context, status=status)


def _refused(request: HttpRequest, exc: services.NotADraft) -> HttpResponse:
    context = {"message": str(exc), "newsletter": exc.newsletter}
    return render(request, "privacy/newsletter/staff_refused.html", context, status=409)
