"""Shared pytest configuration; fixtures live in tests/plugins/ and are registered here."""

from plugins.http_receiver import http_receiver  # noqa: F401
from plugins.kafka_broker import kafka_broker, kafka_topic  # noqa: F401
from plugins.moto_server import moto_server  # noqa: F401
from plugins.postgres_server import postgres_server, postgres_url  # noqa: F401
