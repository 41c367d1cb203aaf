"""The accounts API: GET /api/v1/accounts, each account with this month's budget figures.

Finance (and staff) see every account, a lab member the accounts they belong to, ops every
account but no money: their rows carry null for every amount (web/access.py). Month-to-date
and forecast are those of the pages and the budget mails (billing/ledger/budgets.py), for
the current UTC month; money as decimal strings, the budget use as a number (1 = all of it).
A page asks a fixed number of queries whatever its size; a read writes nothing.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from billing.ledger.budgets import budgets
from web import access
from web.api import schema
from web.api.pagination import paginate


class AccountFigures(serializers.Serializer):
    name = serializers.CharField()
    rate_class = serializers.CharField(help_text="empty: priced by the tariffs without a class")
    budget_chf = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="monthly; null: none, or ops"
    )
    month_to_date_chf = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="this UTC month's estimated cost so far; null for ops",
    )
    forecast_chf = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="month-end forecast: month to date + the last 7 days' cost per hour × the "
        "hours left; null for ops",
    )
    budget_used = serializers.FloatField(
        allow_null=True,
        help_text="month to date / budget (1 = all of it); null without a budget, or for ops",
    )


def figures_json(account, budget) -> dict:
    if budget is None:
        money = dict.fromkeys(["budget_chf", "month_to_date_chf", "forecast_chf", "budget_used"])
    else:
        used = budget.used
        money = {
            "budget_chf": None if account.budget_chf is None else str(account.budget_chf),
            "month_to_date_chf": str(budget.month_to_date_chf),
            "forecast_chf": str(budget.forecast_chf),
            "budget_used": None if used is None else float(used),
        }
    return {"name": account.name, "rate_class": account.rate_class, **money}


@extend_schema(
    operation_id="accounts_list",
    parameters=schema.page_parameters(),
    responses={
        200: schema.page_of("AccountPage", AccountFigures),
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
    },
)
@api_view(["GET"])
def accounts(request):
    """The accounts the user may see, by name, with this month's cost, budget and forecast."""
    user = request.user
    rows, page = paginate(request, access.visible_accounts(user).order_by("name"))
    figures = budgets(rows, timezone.now()) if access.sees_statements(user) else {}
    return Response({**page, "results": [figures_json(a, figures.get(a.pk)) for a in rows]})
