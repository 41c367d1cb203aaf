"""Django field validators made of SAP's field rules (billing/sap_fields.py), with the settings.

A validator is recorded by name in the migrations (`Rule("cctr")`) and applies its rule
with the settings of the moment: KUBEMON_SIFAC_ACTIVITY_TYPES, KUBEMON_SIFAC_UNITS and
KUBEMON_MAX_PRICE_CHF. Pure: it imports no model, so the models may import it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from billing import sap_fields as sap
from billing.resources import RESOURCES


def sifac_codes() -> tuple[dict[str, str], dict[str, str]]:
    """The settings' activity types and units per resource; ValueError names a bad one."""
    return (
        sap.codes(settings.KUBEMON_SIFAC_ACTIVITY_TYPES, "KUBEMON_SIFAC_ACTIVITY_TYPES", "ACTTYPE"),
        sap.codes(settings.KUBEMON_SIFAC_UNITS, "KUBEMON_SIFAC_UNITS", "ACTIVITYUN"),
    )


# The field rules, by the name a field's validator records (in migrations too).
RULES = {
    "account_name": lambda value: sap.account_name_problem(value, RESOURCES),
    "cctr": lambda value: sap.receiver_problem("cctr", value),
    "order": lambda value: sap.receiver_problem("order", value),
    "wbs": lambda value: sap.receiver_problem("wbs", value),
    "activity_type": lambda value: sap.activity_type_problem(value, sifac_codes()[0]),
    "price": lambda value: sap.price_problem(value, settings.KUBEMON_MAX_PRICE_CHF),
}


@deconstructible
class Rule:
    """A field validator: one of RULES, applied with the settings of the moment."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, value):
        try:
            problem = RULES[self.name](value)
        except ValueError as e:  # a setting the rule reads is bad: say which
            problem = str(e)
        if problem:
            raise ValidationError(problem, code=self.name)
