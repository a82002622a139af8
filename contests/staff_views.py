"""Marketing's contest pages: create, follow, draw, and the audited list of entrants."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import MARKETING
from accounts.staff import role_required
from privacy import audit
from privacy.markdown import render_markdown

from . import draws, selectors, services
from .eligibility import purge_due_at, wall_clock
from .forms import ContestForm
from .models import Contest

ENTRANTS_PAGE_SIZE = 100


def _contest(slug: str) -> Contest:
    contest = selectors.contest_by_slug(slug)
    if contest is None:
        raise Http404("No such contest.")
    return contest


@role_required(MARKETING)
def staff_list(request: HttpRequest) -> HttpResponse:
    contests = selectors.contests_with_counts()[:200]
    return render(request, "contests/staff_list.html", {"contests": contests})


@role_required(MARKETING)
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = ContestForm(
        request.POST if request.method == "POST" else None,
        default_zone=request.user.time_zone or "America/Los_Angeles",  # type: ignore[union-attr]
    )
    if request.method == "POST":
        if form.is_valid():
            contest = services.create_contest(**form.contest_fields(), created_by=request.user)
            messages.success(request, "Contest created.")
            return redirect("contests:staff_detail", slug=contest.slug)
        return render(request, "contests/staff_form.html", {"form": form}, status=400)
    return render(request, "contests/staff_form.html", {"form": form})


@role_required(MARKETING)
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Until the contest opens; then its rules bind and the page refuses."""
    contest = _contest(slug)
    if timezone.now() >= contest.starts_at:
        return _refused(request, contest, services.ContestStarted.message)
    form = ContestForm(request.POST if request.method == "POST" else None, instance=contest)
    context = {"form": form, "contest": contest}
    if request.method == "GET":
        return render(request, "contests/staff_form.html", context)
    if not form.is_valid():
        return render(request, "contests/staff_form.html", context, status=400)
    try:
        services.update_contest(contest=contest, **form.contest_fields())
    except services.ContestStarted as exc:
        return _refused(request, contest, exc.message)
    messages.success(request, "Contest saved.")
    return redirect("contests:staff_detail", slug=contest.slug)


@role_required(MARKETING)
def staff_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The contest, its counts and its draw record with a fresh verification; no entrant."""
    contest = _contest(slug)
    context = {
        "contest": contest,
        "rules_html": render_markdown(contest.rules_markdown),
        "counts": selectors.entry_counts(contest),
        "opens": wall_clock(contest, contest.starts_at),
        "closes": wall_clock(contest, contest.ends_at),
        "not_started": timezone.now() < contest.starts_at,
        "draw_due": contest.drawn_at is None and timezone.now() >= contest.ends_at,
        "draw": draws.recorded_draw(contest),
        "verification": draws.verify_recorded_draw(contest),
        "purge_at": purge_due_at(contest),
    }
    return render(request, "contests/staff_detail.html", context)


@role_required(MARKETING)
def staff_entrants(request: HttpRequest, slug: str) -> HttpResponse:
    """Names and addresses of the entrants, so every view writes one audit entry."""
    contest = _contest(slug)
    page = Paginator(selectors.entrants(contest), ENTRANTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record(
        actor=request.user,
        action="contest.entrants.view",
        target_type="contest",
        target_id=str(contest.pk),
        purpose="Check a contest's entries and winners",
        details={"page": page.number, "rows": len(page.object_list)},
    )
    return render(request, "contests/staff_entrants.html", {"contest": contest, "page": page})


@role_required(MARKETING)
@require_POST
def staff_draw(request: HttpRequest, slug: str) -> HttpResponse:
    contest = _contest(slug)
    try:
        record = draws.run_draw(contest=contest, actor=request.user)
    except (draws.AlreadyDrawn, draws.DrawNotDue) as exc:
        return _refused(request, contest, exc.message)
    messages.success(
        request,
        f"Drawn: {len(record.winners)} winner(s) from {record.entry_count} confirmed entries. "
        "They have been notified by email.",
    )
    return redirect("contests:staff_detail", slug=contest.slug)


def _refused(request: HttpRequest, contest: Contest, message: str) -> HttpResponse:
    context = {"contest": contest, "message": message}
    return render(request, "contests/staff_refused.html", context, status=409)
