"""Write-only secrets in the admin, for every :class:`~integrations.models.CredentialsModel`.

ATS connections and interview vendors store their secrets the same way (the name of an
environment variable, or a Fernet-encrypted value), so their admin pages ask for them the same
way. For each secret the model lists in ``SECRETS``:

* the form has a ``new_<name>`` password field (blank keeps the stored value; what was typed is
  never rendered back) and a ``clear_<name>`` checkbox. Typing a value and ticking "clear" is
  refused, and so is typing a value while an environment variable is named: the variable would
  win and the typed value would silently go unused;
* the change page shows only *where* the secret comes from (``<name>_status``), the list only
  *whether* it is configured (``<name>_configured``), and typed values stay out of error reports.

:func:`secrets_form` builds the form's base class from the model; a :class:`SecretInput` adjusts
one secret (its wording, length limits, a further rule). The ModelAdmin takes
:class:`SecretsAdminMixin`, which reads everything it needs from that form.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst
from django.views.decorators.debug import sensitive_post_parameters

from integrations.models import CredentialsModel

# A further rule for a typed secret: (typed value, the form's cleaned data) -> error or None.
SecretCheck = Callable[[str, dict[str, Any]], str | None]


@dataclass(frozen=True)
class SecretInput:
    """How the admin asks for one secret, where the defaults do not fit."""

    field_label: str = ""  # the new-value field's label; default "New <label>"
    column: str = ""  # the list column's header; default "<Label> configured"
    about: str = ""  # said before the standard help text
    min_length: int | None = None
    max_length: int | None = None
    # Runs only on a value the standard checks let through.
    check: SecretCheck | None = None


def secret_source(obj: CredentialsModel, name: str) -> str:
    """Where a secret comes from, in words; never the secret itself."""
    env_name = getattr(obj, f"{name}_env")
    encrypted = getattr(obj, f"{name}_encrypted")
    if env_name:
        state = "set" if os.environ.get(env_name) else "NOT set on this server"
        text = f"Read from environment variable {env_name} ({state})"
        if encrypted:
            text += "; a stored encrypted value is also present but unused"
        return text
    if encrypted:
        return "Stored encrypted in the database"
    return "Not configured"


class SecretsForm(forms.ModelForm):
    """Base of the forms :func:`secrets_form` builds: checks and stores the typed secrets."""

    # Filled in by secrets_form(): secret name -> label, and secret name -> SecretInput.
    secret_labels: ClassVar[dict[str, str]] = {}
    secret_inputs: ClassVar[dict[str, SecretInput]] = {}

    @classmethod
    def secret_value_fields(cls) -> list[str]:
        """The fields that carry typed secrets."""
        return [f"new_{name}" for name in cls.secret_labels]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, label in self.secret_labels.items():
            new_field, clear_field, env_field = f"new_{name}", f"clear_{name}", f"{name}_env"
            if cleaned.get(new_field) and cleaned.get(clear_field):
                self.add_error(
                    clear_field, f"Either enter a new {label} or clear the stored one, not both."
                )
            elif cleaned.get(new_field) and cleaned.get(env_field):
                # The environment variable would win, silently ignoring what was just typed.
                self.add_error(
                    new_field,
                    f"The {label} is read from the environment variable {cleaned[env_field]}; "
                    f"empty that name to store a {label} here instead.",
                )
            # add_error() took a refused value out of cleaned_data: one error per typed value.
            check = self.secret_inputs[name].check
            value = cleaned.get(new_field)
            if check is not None and value and (error := check(value, cleaned)):
                self.add_error(new_field, error)
        return cleaned

    def save(self, commit: bool = True) -> Any:
        obj = super().save(commit=False)
        for name in self.secret_labels:
            if self.cleaned_data.get(f"clear_{name}"):
                obj.set_secret(name, "")
            elif new_value := self.cleaned_data.get(f"new_{name}"):
                obj.set_secret(name, new_value)
        if commit:
            obj.save()
            self._save_m2m()
        return obj


def secrets_form(model: type[CredentialsModel], **inputs: SecretInput) -> type[SecretsForm]:
    """A ModelForm base with ``new_<name>`` and ``clear_<name>`` for each of ``model.SECRETS``.

    Subclass it with ``class Meta(<the base>.Meta)``, which labels the ``<name>_env`` fields,
    and list those fields there (never the ``*_encrypted`` columns). ``inputs`` adjusts single
    secrets by name.
    """
    if unknown := set(inputs) - set(model.SECRETS):
        raise ValueError(f"{model.__name__} has no secret named {', '.join(sorted(unknown))}")
    specs = {name: inputs.get(name, SecretInput()) for name in model.SECRETS}
    # Each secret has its own fieldset, so its environment variable need not name it again.
    meta = type("Meta", (), {"labels": {f"{name}_env": "Environment variable" for name in specs}})
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": meta,
        "secret_labels": dict(model.SECRETS),
        "secret_inputs": specs,
    }
    for name, label in model.SECRETS.items():
        spec = specs[name]
        attrs[f"new_{name}"] = forms.CharField(
            label=spec.field_label or f"New {label}",
            required=False,
            min_length=spec.min_length,
            max_length=spec.max_length,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=_help_text(label, spec),
        )
        attrs[f"clear_{name}"] = forms.BooleanField(
            label=f"Clear the stored {label}", required=False
        )
    # The metaclass collects the declared fields, as for a form written out by hand.
    return type(SecretsForm)(f"{model.__name__}SecretsForm", (SecretsForm,), attrs)


def _help_text(label: str, spec: SecretInput) -> str:
    if spec.min_length and spec.max_length:
        length = f"{spec.min_length}–{spec.max_length} characters."
    elif spec.min_length:
        length = f"At least {spec.min_length} characters."
    elif spec.max_length:
        length = f"At most {spec.max_length} characters."
    else:
        length = ""
    noun = label.split()[-1]  # "webhook secret" -> "secret", "API key" -> "key"
    keep = f"Leave blank to keep the current {noun}. Stored encrypted; never shown again."
    return " ".join(part for part in (spec.about, length, keep) if part)


class SecretsAdminMixin:
    """ModelAdmin mixin for a form built by :func:`secrets_form`.

    Adds per secret the list column ``<name>_configured`` and the read-only status line
    ``<name>_status`` (a method of the same name on the admin takes precedence);
    :meth:`secret_fields` lists one secret's fields for a fieldset.
    """

    form: type[SecretsForm]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        form = getattr(cls, "form", None)
        if not (isinstance(form, type) and issubclass(form, SecretsForm)):
            raise TypeError(f"{cls.__name__}.form must be built by secrets_form()")
        for name, label in form.secret_labels.items():
            column = form.secret_inputs[name].column or f"{capfirst(label)} configured"
            if not hasattr(cls, f"{name}_configured"):
                setattr(cls, f"{name}_configured", _configured_column(name, column))
            if not hasattr(cls, f"{name}_status"):
                setattr(cls, f"{name}_status", _status_line(name, f"Current {label}"))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Typed secrets are kept out of error reports.
        view = sensitive_post_parameters(*self.form.secret_value_fields())(super().changeform_view)
        return view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        status = [f"{name}_status" for name in self.form.secret_labels]
        return [*super().get_readonly_fields(request, obj), *status]

    def secret_fields(self, request: HttpRequest, obj: Any, name: str) -> list[str]:
        """One secret's fields: its status once saved, the environment variable, then, for
        those who may edit, the new value and (once saved) the clear checkbox."""
        fields = [f"{name}_status"] if obj is not None else []
        fields.append(f"{name}_env")
        editable = (
            self.has_add_permission(request)
            if obj is None
            else self.has_change_permission(request, obj)
        )
        if editable:
            # Form-only fields: a view-only page has nothing to show for them.
            fields.append(f"new_{name}")
            if obj is not None:
                fields.append(f"clear_{name}")
        return fields


def _configured_column(name: str, description: str) -> Callable[[Any, Any], bool]:
    @admin.display(boolean=True, description=description)
    def configured(self: Any, obj: CredentialsModel) -> bool:
        return obj.has_secret(name)

    configured.__name__ = f"{name}_configured"
    return configured


def _status_line(name: str, description: str) -> Callable[[Any, Any], str]:
    @admin.display(description=description)
    def status(self: Any, obj: CredentialsModel) -> str:
        return secret_source(obj, name)

    status.__name__ = f"{name}_status"
    return status
