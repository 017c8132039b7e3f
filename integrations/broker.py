"""The Redis broker transport, publishing through one Redis client per channel.

kombu's Redis channel builds a new ``redis.Redis`` client object for every message it publishes
(``Channel.conn_or_acquire``); with redis-py 8 that copies ~170 response callbacks each time,
about a fifth of the CPU a publish costs. Every webhook delivery publishes one message after it
is stored, so this channel keeps its synchronous client and builds a new one only when the
channel's connection pool is replaced (after a connection error). A redis-py client is
thread-safe (it takes a pooled connection per command), and a channel is used by one producer
at a time anyway. Selected in config/settings/base.py for ``redis://`` broker URLs.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _publish_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._publish_client
        if client is None or client.connection_pool is not self.pool:
            client = self._publish_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
