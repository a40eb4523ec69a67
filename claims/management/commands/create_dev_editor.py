"""`manage.py create_dev_editor`: the development-only accounts editor / editor and reviewer / reviewer."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# (username and password, group): an editor records drafts, a reviewer publishes them (migration 0014).
ACCOUNTS = (("editor", "Editors"), ("reviewer", "Reviewers"))


class Command(BaseCommand):
    help = (
        "Create the development accounts editor/editor (Editors group) and reviewer/reviewer (Reviewers "
        "group). DEBUG only."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "Refusing to create the editor/editor and reviewer/reviewer accounts: DEBUG is off (production)."
            )
        said = []
        with transaction.atomic():
            for username, group_name in ACCOUNTS:
                group = Group.objects.get(name=group_name)
                user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
                if created:
                    user.set_password(username)  # development only: refused above when DEBUG is off
                    user.save(update_fields=["password"])
                user.groups.add(group)
                state = "created" if created else "already there"
                said.append(
                    f"Development {username} account {state}: username {username}, password {username}"
                )
        for line in said:
            self.stdout.write(line)
