"""Interview-vendor adapters: one module per ``VendorKind``, behind ``base.VendorAdapter``."""

from __future__ import annotations
