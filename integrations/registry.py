"""Provider → connector modules, imported lazily so one provider's code never loads another's."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

CONNECTORS: dict[str, str] = {
    "greenhouse": "integrations.connectors.greenhouse",
    "lever": "integrations.connectors.lever",
    "ashby": "integrations.connectors.ashby",
    "generic": "integrations.connectors.generic",
}


class UnknownProviderError(LookupError):
    pass


@cache
def _module(provider: str, part: str) -> ModuleType:
    try:
        package = CONNECTORS[provider]
    except KeyError:
        raise UnknownProviderError(f"no connector for provider {provider!r}") from None
    return importlib.import_module(f"{package}.{part}")


def webhook_module(provider: str) -> ModuleType:
    """The provider's ``webhook`` module (``verify``)."""
    return _module(provider, "webhook")


def mapping_module(provider: str) -> ModuleType:
    """The provider's ``mapping`` module (``normalize``)."""
    return _module(provider, "mapping")


def client_for(connection: AtsConnection) -> AtsClient:
    """An outbound client for the connection (``client.Client``)."""
    client_class: type[AtsClient] = _module(connection.provider, "client").Client
    return client_class(connection)
