"""An account charges exactly one SIFAC receiver: a cost centre, an internal order or a WBS."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from billing.models import Account


@pytest.mark.parametrize(
    "receiver",
    [{"cost_center": "10421"}, {"internal_order": "500000123"}, {"wbs_element": "P-1234.01"}],
)
def test_an_account_with_one_receiver_is_valid(db, receiver):
    account = Account.objects.create(name="lab", **receiver)
    account.full_clean()
    assert account.receiver[1] == next(iter(receiver.values()))


def test_an_account_with_two_receivers_is_refused_by_the_database(db):
    with pytest.raises(IntegrityError):
        Account.objects.create(name="lab", cost_center="10421", internal_order="500000123")


def test_an_account_without_receiver_is_refused_by_validation(db):
    with pytest.raises(ValidationError, match="exactly one receiver"):
        Account(name="lab").full_clean()


def test_only_the_unassigned_account_may_have_no_receiver(db):
    Account.objects.create(name=Account.UNASSIGNED).full_clean()
    with pytest.raises(IntegrityError):
        Account.objects.create(name="lab")
