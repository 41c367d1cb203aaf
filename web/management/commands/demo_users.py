"""python manage.py demo_users ACCOUNT

One user per role for the demo, each with its name as password: `finance`, `ops`, `lab` (a
member of ACCOUNT) and `admin` (superuser). Refused unless DJANGO_DEBUG is on, so that known
passwords never reach a production database.
"""

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError

from billing.models import Account
from web.access import FINANCE, OPS

ROLES = {"finance": [FINANCE], "ops": [OPS], "lab": [], "admin": []}


class Command(BaseCommand):
    help = "Create the demo's users, one per role, with known passwords (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="the account the `lab` user is a member of")

    def handle(self, *args, account, **options):
        if not settings.DEBUG:
            raise CommandError("demo users have known passwords: refused with DJANGO_DEBUG off")
        lab_account = Account.objects.filter(name=account).first()
        if lab_account is None:
            raise CommandError(f"account: no account named {account!r}")
        for name, groups in ROLES.items():
            user, _ = User.objects.get_or_create(username=name)
            user.is_staff = user.is_superuser = name == "admin"
            user.set_password(name)
            user.save()
            user.groups.set(Group.objects.filter(name__in=groups))
        lab_account.members.add(User.objects.get(username="lab"))
        self.stdout.write(f"demo users: {', '.join(ROLES)} (password = user name)")
