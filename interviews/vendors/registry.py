"""Vendor kind → adapter class, imported lazily (one module per ``VendorKind``).

Adding a vendor kind means a ``VendorKind`` value, a module here with a ``VendorAdapter``
subclass, and one line in :data:`ADAPTERS`. Nothing imports an adapter module until a vendor
of that kind is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from interviews.models import VendorKind

if TYPE_CHECKING:
    from interviews.models import Vendor
    from interviews.vendors.base import VendorAdapter

ADAPTERS: dict[str, str] = {
    VendorKind.GENERIC_HTTP: "interviews.vendors.generic_http.GenericHttpVendor",
    VendorKind.REHEARSAL: "interviews.vendors.rehearsal.RehearsalVendor",
}


class UnknownVendorKindError(LookupError):
    """A vendor row whose ``kind`` has no adapter (a data error, never a user error)."""


def adapter_class(kind: str) -> type[VendorAdapter]:
    """The adapter class for a vendor kind; :class:`UnknownVendorKindError` if there is none."""
    try:
        dotted = ADAPTERS[kind]
    except KeyError:
        raise UnknownVendorKindError(f"no interview-vendor adapter for kind {kind!r}") from None
    module_name, _, class_name = dotted.rpartition(".")
    cls: type[VendorAdapter] = getattr(import_module(module_name), class_name)
    return cls


def adapter_for(vendor: Vendor) -> VendorAdapter:
    """The adapter that speaks ``vendor``'s protocol, bound to that vendor."""
    return adapter_class(vendor.kind)(vendor)
