"""The password policy: long enough, not the username, not a well-known password."""

from sandpod.domain.errors import InvalidInputError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 hashes anything; the cap keeps one request from costing much
MIN_DISTINCT = 5

# The most common passwords that pass the length rule (from public breach top lists).
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123123123123",
        "111111111111",
        "000000000000",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "qwertyuiopas",
        "qwerty123456",
        "qwertyqwerty",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "administrator",
        "admin1234567",
        "adminadmin123",
        "changeme1234",
        "sandpod12345",
        "sandpodsandpod",
        "trustno1trustno1",
        "football1234",
        "baseball1234",
        "superman1234",
        "monkey123456",
        "dragon123456",
        "sunshine1234",
        "princess1234",
        "abcdefghijkl",
        "abc123abc123",
        "correcthorsebatterystaple",
    }
)


class WeakPasswordError(InvalidInputError):
    """The password breaks one or more rules; `problems` lists each in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("password rejected: " + "; ".join(problems))
        self.problems = problems

    def field_errors(self) -> list[dict[str, str]]:
        return [{"field": "password", "message": problem} for problem in self.problems]


def password_problems(password: str, username: str) -> list[str]:
    """Every rule the password breaks, in words; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters (got {len(password)})")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters (got {len(password)})")
    lowered = password.lower()
    name = username.strip().lower()
    if name and name in lowered:
        problems.append("must not contain the username")
    if lowered in COMMON_PASSWORDS:
        problems.append("is one of the most common passwords")
    if len(set(password)) < MIN_DISTINCT:
        problems.append(f"must use at least {MIN_DISTINCT} different characters")
    return problems


def check_password(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise WeakPasswordError(problems)
