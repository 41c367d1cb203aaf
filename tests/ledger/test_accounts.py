"""An account charges exactly one SIFAC receiver: a cost centre, an internal order or a WBS."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from billing.collection.store import AccountResolver
from billing.models import Account, Cluster


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


def test_a_namespace_label_that_is_no_cost_centre_lands_in_unassigned(db):
    resolver = AccountResolver(Cluster.objects.create(name="default"))
    hour = datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert resolver.account("lab", hour, "10421").cost_center == "10421"
    assert resolver.account("lab", hour, "much-too-long-for-sap").name == Account.UNASSIGNED
    assert resolver.account("lab", hour, None).name == Account.UNASSIGNED
