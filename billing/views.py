from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import FINANCE
from accounts.staff import role_required

from .entitlements import PLANS


@role_required(FINANCE)
def staff_plans(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/staff_plans.html", {"plans": PLANS})
