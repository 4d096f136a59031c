"""The accounts' settings: traits filled from the original's environment variables."""

from __future__ import annotations

import pytest

from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.server.account_traits import AccountTraits


def test_the_originals_environment_variables_fill_the_traits(monkeypatch) -> None:
    for name, value in {
        "JWT_SECRET": "s" * 40,
        "JWT_ACCESS_EXPIRY": "600",
        "BCRYPT_ROUNDS": "10",
        "MAX_LOGIN_ATTEMPTS": "3",
        "LOCKOUT_DURATION": "60",
        "API_KEY_EXPIRY": "7d",  # the original's form
        "API_KEY_RATE_LIMIT": "50",
        "SESSION_EXPIRY": "3600",
        "PASSWORD_RESET_EXPIRY": "900",
        "SMTP_HOST": "mail.example.org",
        "SMTP_SECURE": "true",  # the original's: implicit TLS
        "EMAIL_FROM": "robot@example.org",
    }.items():
        monkeypatch.setenv(name, value)
    traits = AccountTraits()
    assert traits.jwt_secret == "s" * 40
    assert (traits.jwt_access_expiry, traits.bcrypt_rounds, traits.max_login_attempts) == (
        600,
        10,
        3,
    )
    assert (traits.lockout_duration, traits.api_key_expiry, traits.api_key_rate_limit) == (
        60,
        7,
        50,
    )
    assert (traits.session_expiry, traits.password_reset_expiry) == (3600, 900)
    assert (traits.smtp_host, traits.smtp_secure, traits.email_from) == (
        "mail.example.org",
        "ssl",
        "robot@example.org",
    )


def test_defaults_without_the_environment(monkeypatch) -> None:
    for name in ("JWT_SECRET", "BCRYPT_ROUNDS", "API_KEY_RATE_LIMIT", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    traits = AccountTraits()
    assert traits.jwt_secret is None and traits.smtp_host is None
    assert (traits.bcrypt_rounds, traits.api_key_rate_limit, traits.allow_registration) == (
        12,
        1000,
        False,
    )


def test_a_variable_that_is_not_a_number_names_itself(monkeypatch) -> None:
    monkeypatch.setenv("BCRYPT_ROUNDS", "twelve")
    with pytest.raises(ConfigurationError, match="BCRYPT_ROUNDS"):
        _ = AccountTraits().bcrypt_rounds
