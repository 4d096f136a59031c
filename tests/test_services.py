"""The services CI provides are really there: MariaDB and Redis answer real clients."""

from __future__ import annotations

import pytest


@pytest.mark.mysql
def test_mariadb_accepts_the_test_login(mysql_url):
    import pymysql

    connection = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", database="test", charset="utf8mb4"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s + 1", (41,))
            assert cursor.fetchone() == (42,)
    finally:
        connection.close()


@pytest.mark.redis
def test_redis_answers(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        assert client.ping() is True
        client.set("workscript:test:ping", "1", ex=5)
        assert client.get("workscript:test:ping") == b"1"
    finally:
        client.delete("workscript:test:ping")
        client.close()
