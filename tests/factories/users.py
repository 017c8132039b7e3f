"""Users with Screenbridge role groups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import factory
from django.contrib.auth.models import Group, User
from factory.django import DjangoModelFactory

# Every factory-made user can log in with this password.
DEFAULT_PASSWORD = "factory-password-1234"


class UserFactory(DjangoModelFactory[User]):
    """A user; ``UserFactory(groups=[roles.RECRUITER])`` puts them in role groups by name."""

    # Set below the class: a value in the class body would become a model field declaration.
    DEFAULT_PASSWORD: ClassVar[str]

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(DEFAULT_PASSWORD)
    is_active = True

    @factory.post_generation
    def groups(self, create: bool, extracted: Iterable[str] | None, **kwargs: Any) -> None:
        if not create or not extracted:
            return
        # get_or_create: the migration normally made the group, but a flushed database has none.
        self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


UserFactory.DEFAULT_PASSWORD = DEFAULT_PASSWORD
