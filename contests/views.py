"""The public contest page with its entry form, and the confirmation link's page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from meetings.ratelimit import Limit, client_address, hit
from privacy.markdown import render_markdown

from . import selectors, services
from .eligibility import PENDING_ENTRY_LIFETIME, is_open, local_time, wall_clock
from .forms import EntryForm
from .models import Contest

# Per client, on top of the three confirmation links per entry.
ENTRY_ATTEMPTS = Limit("contest_entry", max_hits=20, window_seconds=60 * 60)


def _contest(slug: str) -> Contest:
    contest = selectors.contest_by_slug(slug)
    if contest is None:
        raise Http404("No such contest.")
    return contest


@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    contest = _contest(slug)
    now = timezone.now()
    user = request.user if request.user.is_authenticated else None
    today = local_time(contest, now).date()
    form = EntryForm(
        request.POST if request.method == "POST" else None, contest=contest, user=user, today=today
    )
    if request.method == "GET":
        return _page(request, contest, form)
    if not is_open(contest, now):
        return _page(request, contest, form, status=409, error=str(services.EntriesClosed(contest)))
    retry_after = hit(ENTRY_ATTEMPTS, client_address(request))
    if retry_after is not None:
        response = _page(
            request, contest, form, status=429, error="Too many entries from your connection."
        )
        response["Retry-After"] = str(retry_after)
        return response
    if not form.is_valid():
        return _page(request, contest, form, status=400)
    try:
        result = services.enter(
            contest=contest,
            user=user,
            name=form.cleaned_data["name"],
            email=form.cleaned_data.get("email", ""),
            statement=form.statement(),
            marketing_opt_in=form.cleaned_data["marketing_opt_in"],
        )
    except services.NotEligible as exc:
        for field, reason in exc.reasons.items():
            form.add_error(field if field in form.fields else None, reason)
        return _page(request, contest, form, status=400)
    except (services.AlreadyEntered, services.TooManyConfirmations) as exc:
        return _page(request, contest, form, status=409, error=exc.message)
    except services.EntriesClosed as exc:
        return _page(request, contest, form, status=409, error=str(exc))
    if result.needs_confirmation:
        return redirect("contests:entry_sent", slug=contest.slug)
    return render(request, "contests/entered.html", {"contest": contest})


def entry_sent(request: HttpRequest, slug: str) -> HttpResponse:
    context = {"contest": _contest(slug), "days": PENDING_ENTRY_LIFETIME.days}
    return render(request, "contests/entry_sent.html", context)


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the entry and a button (mail scanners follow links); POST confirms."""
    try:
        entry = services.entry_for_token(token)
    except services.BadConfirmation as exc:
        return render(request, "contests/confirm_invalid.html", {"error": exc}, status=400)
    context = {"entry": entry, "contest": entry.contest}
    if request.method == "GET":
        return render(request, "contests/confirm.html", context)
    try:
        services.confirm_entry(entry=entry)
    except services.EntriesClosed as exc:
        return render(request, "contests/confirm_invalid.html", {"error": exc}, status=409)
    return render(request, "contests/entered.html", context)


def _page(
    request: HttpRequest, contest: Contest, form: EntryForm, *, status: int = 200, error: str = ""
) -> HttpResponse:
    now = timezone.now()
    context = {
        "contest": contest,
        "form": form,
        "error": error,
        "rules_html": render_markdown(contest.rules_markdown),
        "is_open": is_open(contest, now),
        "not_yet": now < contest.starts_at,
        "opens": wall_clock(contest, contest.starts_at),
        "closes": wall_clock(contest, contest.ends_at),
        "winners": selectors.public_winners(contest) if contest.drawn_at else [],
    }
    return render(request, "contests/detail.html", context, status=status)
