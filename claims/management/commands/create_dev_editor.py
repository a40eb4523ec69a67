"""`manage.py create_dev_editor`: the development-only editor account (editor / editor)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

USERNAME = "editor"
PASSWORD = "editor"  # noqa: S105 (development only: refused below when DEBUG is off)


class Command(BaseCommand):
    help = "Create the development editor account editor/editor in the Editors group (DEBUG only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create the editor/editor account: DEBUG is off (production).")
        with transaction.atomic():
            group = Group.objects.get(name="Editors")
            user, created = User.objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(group)
        state = "created" if created else "already there"
        self.stdout.write(f"Development editor account {state}: username {USERNAME}, password {PASSWORD}")
