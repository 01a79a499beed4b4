"""The password policy: each rule, in words a person can act on."""

import pytest

from sandpod.domain.passwords import (
    MAX_LENGTH,
    WeakPasswordError,
    check_password,
    password_problems,
)
from sandpod.domain.users import InvalidUsernameError, check_username


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short-pw", "at least 12 characters (got 8)"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} characters"),
        ("my-name-is-ada-lovelace", "must not contain the username"),
        ("ADA-plus-some-more", "must not contain the username"),
        ("ada", "must not contain the username"),
        ("Password1234", "most common passwords"),
        ("aaaaaaaaaaaaaaaa", "at least 5 different characters"),
        ("abababababababab", "at least 5 different characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, fragment: str) -> None:
    with pytest.raises(WeakPasswordError) as refused:
        check_password(password, "ada")
    assert any(fragment in problem for problem in refused.value.problems)
    assert fragment in str(refused.value)


def test_every_broken_rule_is_listed() -> None:
    assert len(password_problems("ada", "ada")) == 3  # short, contains name, too few characters


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "x7#Lq9!zP2m@", "é" * 6 + "ñüßø" + "12", "y" * 250 + "abcd"],
)
def test_good_passwords_pass(password: str) -> None:
    check_password(password, "ada")


@pytest.mark.parametrize("name", ["ab", "-ada", "ada lovelace", "a" * 33, "ada@home", ""])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(InvalidUsernameError):
        check_username(name)


def test_usernames_are_case_insensitive() -> None:
    assert check_username("Ada.Lovelace_1") == "ada.lovelace_1"
