"""An account's IdP groups are edited in the admin, checked as the import checks them."""

from django.contrib.auth.models import User
from django.test import Client

from billing.models import Account


def test_finance_staff_set_an_accounts_groups_in_the_admin(db):
    account = Account.objects.create(name="lab-a", cost_center="10421")
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="x"))
    url = f"/admin/billing/account/{account.pk}/change/"
    assert 'name="idp_groups"' in admin.get(url).content.decode()
    form = {"name": "lab-a", "cost_center": "10421", "idp_groups": "lab-a-members|bio-staff"}
    answer = admin.post(url, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    account.refresh_from_db()
    assert account.group_list() == ["lab-a-members", "bio-staff"]


def test_the_admin_refuses_a_group_too_long(db):
    account = Account.objects.create(name="lab-a", cost_center="10421")
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="x"))
    url = f"/admin/billing/account/{account.pk}/change/"
    answer = admin.post(url, {"name": "lab-a", "cost_center": "10421", "idp_groups": "g" * 257})
    assert answer.status_code == 200 and "is not a group name" in answer.content.decode()
    account.refresh_from_db()
    assert account.idp_groups == ""
