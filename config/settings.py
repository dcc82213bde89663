"""All settings of the bot, read from environment variables and `.env`, validated here.

Every field has a default where a sensible one exists; a blank value (`NAME=` in `.env`)
means "unset". `load_settings()` checks every value, and the values against each other,
and raises `SettingsError` holding one line per problem, each naming the variable and what
is expected — never echoing a secret. `.env.example` documents every variable.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
KNOWLEDGE_DIR = CONFIG_DIR / "knowledge"
NLU_DIR = CONFIG_DIR / "nlu"

CommaList = Annotated[list[str], NoDecode]
Port = Annotated[int, Field(ge=0, le=65535)]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
SECRET_FIELDS = frozenset(
    {
        "telegram_bot_token",
        "vk_group_token",
        "orders_api_token",
        "telegram_webhook_secret",
        "vk_callback_secret",
    }
)
TELEGRAM_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
VK_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,}$")
WEEKDAY_RANGE = re.compile(r"^([1-7])\s*-\s*([1-7])$")
KNOWLEDGE_FILES = ("answers.yaml", "texts.yaml")
NLU_FILES = ("training.yaml",)


class SettingsError(Exception):
    """Settings are missing, malformed or contradictory; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # `NAME=` in .env or the environment means "unset"
    )

    # --- storage and files -------------------------------------------------------------
    data_dir: Path = Path("data")
    database_url: str = ""  # unset: sqlite:///DATA_DIR/support.db
    # How long a start waits for a PostgreSQL server that cannot be reached; then exit 2.
    database_wait_seconds: float = Field(60.0, gt=0)
    knowledge_dir: Path = KNOWLEDGE_DIR
    # The shop's name, `{shop}` in the texts; unset: `shop_name` in texts.yaml.
    shop_name: str | None = Field(None, min_length=1, max_length=100)
    nlu_dir: Path = NLU_DIR
    log_level: str = "INFO"
    log_format: str = "text"

    # --- health and metrics -------------------------------------------------------------
    health_host: str = "0.0.0.0"
    health_port: Port | None = None  # unset: no separate server (webhook mode serves them)

    # --- understanding -------------------------------------------------------------------
    nlu_min_confidence: float = Field(0.35, ge=0, le=1)
    misunderstandings_before_operator: int = Field(2, ge=1)
    order_attempts_before_operator: int = Field(2, ge=1)

    # --- orders --------------------------------------------------------------------------
    orders_api_url: str | None = None
    orders_api_token: SecretStr | None = None
    orders_api_timeout: float = Field(5.0, gt=0)
    orders_demo_file: Path = CONFIG_DIR / "orders_demo.yaml"

    # --- Telegram --------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    operators_chat_id: int | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_host: str = "0.0.0.0"
    telegram_webhook_port: Port = 8080
    telegram_webhook_path: str = "/telegram/webhook"
    telegram_webhook_secret: SecretStr | None = None
    operators_group_messages_per_minute: int = Field(18, ge=1, le=60)

    # --- VK --------------------------------------------------------------------------------
    vk_group_token: SecretStr | None = None
    vk_group_id: int | None = Field(None, gt=0)
    vk_api_url: str = "https://api.vk.ru/method/"
    vk_requests_per_second: float = Field(15.0, gt=0, le=20)
    vk_callback_enabled: bool = False
    vk_callback_host: str = "0.0.0.0"
    vk_callback_port: Port = 8081
    vk_callback_path: str = "/vk/callback"
    vk_callback_confirmation: str | None = None
    vk_callback_secret: SecretStr | None = None
    vk_polling_state_dir: Path | None = None  # unset: DATA_DIR/vk-polling
    vk_polling_resume: bool = True

    # --- several replicas ----------------------------------------------------------------------
    # Webhook / Callback API only: how long an update is held back so that one of the same
    # chat sent earlier, but stored a moment later by another replica, is applied first.
    intake_order_window_ms: int = Field(200, ge=0, le=5000)

    # --- the life of a case ------------------------------------------------------------------
    default_wait_minutes: int = Field(10, ge=1)
    auto_close_hours: float = Field(24.0, gt=0)
    work_hours_start: time = time(9, 0)
    work_hours_end: time = time(21, 0)
    work_days: CommaList = Field(default_factory=lambda: ["1", "2", "3", "4", "5", "6", "7"])
    timezone: str = "Europe/Moscow"
    vip_telegram_ids: CommaList = Field(default_factory=list)
    vip_vk_ids: CommaList = Field(default_factory=list)
    delivery_max_attempts: int = Field(8, ge=1)
    compensation_codes_file: Path = KNOWLEDGE_DIR / "compensation_codes.yaml"
    compensation_low_threshold: int = Field(3, ge=0)
    kpi_repeat_days: int = Field(7, ge=1)  # a new case within N days is a repeat contact

    # --- the operators' desk: roles, groups, assignment, SLA, helper bots ---------------------
    # Operators are the members of each operators' group (asked from Telegram, cached for
    # OPERATOR_ROLES_CACHE_SECONDS and refreshed on membership changes), or only these ids.
    operator_ids: CommaList = Field(default_factory=list)
    # Senior operators (/vip, /manager, /compensate, /stats, others' cases): these ids, or
    # the group's admins when empty.
    senior_operator_ids: CommaList = Field(default_factory=list)
    operator_roles_cache_seconds: float = Field(600.0, ge=0)
    # Departments' own groups: "complaints:-1001111111111,vip:-1002222222222"; the names
    # are groups of ROUTING_FILE, "main" is OPERATORS_CHAT_ID.
    operator_groups: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    routing_file: Path = CONFIG_DIR / "routing.yaml"
    auto_assign: bool = False
    sla_first_response_minutes_vip: float = Field(10.0, ge=0)
    sla_first_response_minutes_complaint: float = Field(15.0, ge=0)
    sla_first_response_minutes_ordinary: float = Field(30.0, ge=0)
    sla_resolution_hours_vip: float = Field(4.0, ge=0)
    sla_resolution_hours_complaint: float = Field(8.0, ge=0)
    sla_resolution_hours_ordinary: float = Field(24.0, ge=0)
    sla_warn_share: float = Field(0.8, gt=0, lt=1)
    # Extra bots (members and admins of every operators' group) that post cards and customer
    # messages when the main bot's share of Telegram's per-group limit is spent.
    telegram_helper_bot_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    @field_validator("operator_ids", "senior_operator_ids", mode="before")
    @classmethod
    def _desk_ids(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and not all(str(v).lstrip("-").isdigit() for v in value):
            raise ValueError("expected numeric Telegram ids separated by commas")
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator("operator_groups", mode="before")
    @classmethod
    def _desk_groups(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        groups: dict[str, int] = {}
        for pair in filter(None, (part.strip() for part in value.split(","))):
            name, _, chat = pair.partition(":")
            if not name.strip() or not chat.strip().startswith("-") or not chat[1:].isdigit():
                raise ValueError(f"'{pair}': expected NAME:CHAT_ID, e.g. vip:-1001234567890")
            groups[name.strip()] = int(chat)
        return groups

    @field_validator("telegram_helper_bot_tokens", mode="before")
    @classmethod
    def _desk_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for token in value:
                raw = token.get_secret_value() if isinstance(token, SecretStr) else str(token)
                if ":" not in raw or not raw.split(":", 1)[0].isdigit():
                    raise ValueError("expected bot tokens from @BotFather separated by commas")
        return value

    @field_validator("routing_file")
    @classmethod
    def _desk_routing(cls, value: Path) -> Path:
        from core.desk.routing import load_routing

        load_routing(value)  # RoutingError (a ValueError) names the file and the rule
        return value

    @model_validator(mode="after")
    def _desk_groups_known(self) -> Settings:
        if not self.operator_groups:
            return self
        from core.desk.routing import MAIN, load_routing

        known = load_routing(self.routing_file).titles
        for name, chat in self.operator_groups.items():
            if name == MAIN or name not in known:
                raise ValueError(
                    f"OPERATOR_GROUPS: '{name}' is not a department of {self.routing_file}"
                    f" (known: {', '.join(sorted(set(known) - {MAIN}))}; main is OPERATORS_CHAT_ID)"
                )
            if chat == self.operators_chat_id:
                raise ValueError(f"OPERATOR_GROUPS: '{name}' uses OPERATORS_CHAT_ID's group")
        if len(set(self.operator_groups.values())) < len(self.operator_groups):
            raise ValueError("OPERATOR_GROUPS: two departments share one group")
        if self.operators_chat_id is None:
            raise ValueError("OPERATOR_GROUPS needs OPERATORS_CHAT_ID (the main group)")
        return self

    # ------------------------------------------------------------------ one value each
    @field_validator("vip_telegram_ids", "vip_vk_ids", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("vip_telegram_ids", "vip_vk_ids")
    @classmethod
    def _numeric_ids(cls, value: list[str]) -> list[str]:
        bad = [part for part in value if not part.isdigit()]
        if bad:
            raise ValueError(f"expected numeric user ids separated by commas; got '{bad[0]}'")
        return value

    @field_validator("work_days", mode="before")
    @classmethod
    def _weekdays(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        days: list[str] = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            span = WEEKDAY_RANGE.match(part)
            if span and int(span[1]) <= int(span[2]):
                days += [str(d) for d in range(int(span[1]), int(span[2]) + 1)]
            elif part in "1234567" and len(part) == 1:
                days.append(part)
            else:
                raise ValueError(
                    "expected weekday numbers 1-7 (1 = Monday), comma-separated or a range, "
                    f"e.g. 1,2,3,4,5 or 1-5; got '{value}'"
                )
        if not days:
            raise ValueError("expected at least one weekday 1-7 (1 = Monday), e.g. 1-5")
        return sorted(set(days))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as Europe/Moscow or Asia/Yekaterinburg; "
                f"got '{value}'"
            ) from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}; got '{value}'")

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in LOG_FORMATS:
            return value.strip().lower()
        raise ValueError(f"expected text or json; got '{value}'")

    @field_validator("telegram_bot_token")
    @classmethod
    def _telegram_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TELEGRAM_TOKEN.match(value.get_secret_value().strip()):
            raise ValueError(
                "expected the token @BotFather gave: digits, a colon, then letters, digits, "
                "'-' or '_' (like 123456789:AAHk…)"
            )
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("vk_group_token")
    @classmethod
    def _vk_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not VK_TOKEN.match(value.get_secret_value().strip()):
            raise ValueError(
                "expected the community access token (Manage → Work with API): letters, "
                "digits, '.', '_' or '-', no spaces (like vk1.a.…)"
            )
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("operators_chat_id")
    @classmethod
    def _group_id(cls, value: int | None) -> int | None:
        if value is not None and value >= 0:
            raise ValueError(
                f"expected the operators' group id, a negative number like -1001234567890; "
                f"got {value} (a positive id is a person, not a group)"
            )
        return value

    @field_validator("telegram_api_url", "vk_api_url", "orders_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, schemes=("http", "https"))
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, schemes=("https",), why=" (Telegram calls webhooks over HTTPS only)")
        return value

    @field_validator("telegram_webhook_path", "vk_callback_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError(f"expected a URL path starting with '/', e.g. /hook; got '{value}'")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value:
            return value
        if value.startswith("sqlite://"):
            return value  # its folder is checked with DATA_DIR's (`_consistent`)
        if value.startswith(("postgresql://", "postgres://")):
            parts = urlsplit(value)
            if not parts.hostname and "host=" not in parts.query:
                raise ValueError("expected postgresql://user:password@host:5432/database")
            return value
        raise ValueError(
            "expected sqlite:///relative/path.db, sqlite:////absolute/path.db or "
            f"postgresql://user:password@host/database; got '{redact_url(value)}'"
        )

    @field_validator("knowledge_dir")
    @classmethod
    def _knowledge_dir(cls, value: Path) -> Path:
        return _folder_with(value, KNOWLEDGE_FILES)

    @field_validator("nlu_dir")
    @classmethod
    def _nlu_dir(cls, value: Path) -> Path:
        return _folder_with(value, NLU_FILES)

    @field_validator("compensation_codes_file")
    @classmethod
    def _optional_file(cls, value: Path) -> Path:
        if value.is_dir():  # absent is fine: the pool is empty (operators are told)
            raise ValueError(f"expected a YAML file; {value} is a folder")
        return value

    # ------------------------------------------------------------------ values together
    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems = _folders(self.data_dir, self.database_url)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'support.db'}"
        if not self.orders_api_url and not self.orders_demo_file.is_file():
            problems.append(
                f"ORDERS_DEMO_FILE: expected an existing file (ORDERS_API_URL is unset, so "
                f"the demo orders answer); {self.orders_demo_file} is not one"
            )
        if self.work_hours_start == self.work_hours_end and self.work_hours_start != time(0):
            problems.append(
                "WORK_HOURS_END: equals WORK_HOURS_START; for round-the-clock work set both "
                "to 00:00"
            )
        if self.vk_callback_enabled and self.vk_enabled and not self.vk_callback_confirmation:
            problems.append(
                "VK_CALLBACK_CONFIRMATION: expected the confirmation string VK shows in the "
                "community's Callback API settings (VK_CALLBACK_ENABLED is true)"
            )
        listeners = self._listeners()
        for index, (name, host, port) in enumerate(listeners):
            for other, other_host, other_port in listeners[:index]:
                if port and port == other_port and _same_host(host, other_host):
                    problems.append(f"{name}: port {port} is already taken by {other}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _listeners(self) -> list[tuple[str, str, int]]:
        used = []
        if self.telegram_enabled and self.telegram_webhook_url:
            used.append(
                ("TELEGRAM_WEBHOOK_PORT", self.telegram_webhook_host, self.telegram_webhook_port)
            )
        if self.vk_enabled and self.vk_callback_enabled:
            used.append(("VK_CALLBACK_PORT", self.vk_callback_host, self.vk_callback_port))
        if self.health_port is not None:
            used.append(("HEALTH_PORT", self.health_host, self.health_port))
        return used

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def vk_enabled(self) -> bool:
        return self.vk_group_token is not None

    def secrets(self) -> list[str]:
        """Every secret value set (tokens, passwords): the log filter removes them."""
        values = []
        for name in SECRET_FIELDS:
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        password = urlsplit(self.database_url).password if "://" in self.database_url else None
        if password:
            values.append(password)
        return values


# ---------------------------------------------------------------------------- helpers
def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite://` URL (None for an in-memory database)."""
    rest = url.removeprefix("sqlite://")
    path = rest[1:] if rest.startswith("/") else rest
    return Path(path) if path and path != ":memory:" else None


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _check_url(value: str, schemes: tuple[str, ...], why: str = "") -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        example = " or ".join(f"{s}://host" for s in schemes)
        raise ValueError(f"expected a URL like {example}{why}; got '{redact_url(value)}'")


def _folders(data_dir: Path, database_url: str) -> list[str]:
    """DATA_DIR made if missing (never its parents) and written to once; the SQLite file's
    folder must exist and be writable. One line per problem."""
    problem = prepare_folder(data_dir)
    if problem:
        return [f"DATA_DIR: expected a folder the bot can write to; {problem}"]
    path = sqlite_path(database_url) if database_url.startswith("sqlite://") else None
    if path is None or path.parent.resolve() == data_dir.resolve():
        return []
    problem = writable_folder(path.parent)
    return [f"DATABASE_URL: the SQLite file's folder {problem}"] if problem else []


def prepare_folder(folder: Path) -> str:
    """Create `folder` if its parent exists; why the bot cannot write there ('' when it can)."""
    if not folder.exists() and not folder.is_symlink():
        if not folder.parent.is_dir():
            return f"{folder} does not exist, and neither does its parent folder {folder.parent}"
        try:
            folder.mkdir()
        except FileExistsError:  # another process made it meanwhile
            pass
        except OSError as exc:
            return f"{folder} cannot be created ({exc.strerror or exc})"
    return writable_folder(folder)


def writable_folder(folder: Path) -> str:
    """Why the bot cannot create files in the existing `folder` ('' when it can): tried
    for real with a temporary file, since permissions alone do not tell (root, /proc, a
    read-only mount)."""
    import tempfile

    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    return ""


def _folder_with(folder: Path, names: tuple[str, ...]) -> Path:
    if not folder.is_dir():
        raise ValueError(f"expected an existing folder; {folder} is not one")
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"expected {', '.join(names)} in {folder}; missing {', '.join(missing)}")
    return folder


def _same_host(a: str, b: str) -> bool:
    return a == b or "0.0.0.0" in (a, b) or "::" in (a, b)


_PYDANTIC_WORDING = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "time_parsing": "expected a time of day as HH:MM, e.g. 09:00",
    "time_type": "expected a time of day as HH:MM, e.g. 09:00",
    "greater_than_equal": "expected at least {ge}",
    "greater_than": "expected more than {gt}",
    "less_than_equal": "expected at most {le}",
    "less_than": "expected less than {lt}",
}


def _problem_lines(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error.get("msg", ""))
        if error["type"] == "value_error":
            text = str(error.get("ctx", {}).get("error", message.removeprefix("Value error, ")))
            if not field:  # the checks of values together: lines already name their variable
                lines += text.splitlines()
                continue
        else:
            wording = _PYDANTIC_WORDING.get(error["type"])
            text = wording.format(**error.get("ctx", {})) if wording else message
            if field not in SECRET_FIELDS and "input" in error:
                shown = error["input"]
                text += f"; got '{redact_url(str(shown)) if field == 'database_url' else shown}'"
        lines.append(f"{field.upper() or 'settings'}: {text}")
    return lines


ENVIRONMENT = "the environment"


def load_settings(**overrides: Any) -> Settings:
    """Read and check the settings; raise `SettingsError` with one line per problem."""
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    problems, names = _read_env_file(Path(env_file) if env_file else None)
    if problems:  # a file that cannot be parsed is not read at all
        raise SettingsError(problems)
    names += [(name, ENVIRONMENT) for name, value in os.environ.items() if value]
    problems = misspelt_names(names)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(problems + _problem_lines(exc)) from None
    if problems:
        raise SettingsError(problems)
    return settings


def _read_env_file(path: Path | None) -> tuple[list[str], list[tuple[str, str]]]:
    """Lines of `path` that cannot be parsed (one problem each, naming the line, never
    echoing it: it may hold a secret), and the names it sets with where each is."""
    if path is None or not path.is_file():
        return [], []
    from dotenv.parser import parse_stream

    try:
        bindings = list(parse_stream(io.StringIO(path.read_text(encoding="utf-8"))))
    except UnicodeDecodeError as exc:
        return [f"{path}: expected UTF-8 text; byte {exc.start} is not"], []
    problems = [
        f"{path} line {b.original.line}: expected NAME=value (a value with spaces or '#' "
        "in quotes, every quote closed; a comment line starts with #)"
        for b in bindings
        if b.error
    ]
    names = [(b.key, f"{path} line {b.original.line}") for b in bindings if b.key and b.value]
    return problems, names


def misspelt_names(names: list[tuple[str, str]]) -> list[str]:
    """A name that is not a setting but nearly is one that is left unset: a typo. In the
    environment, which holds other programs' variables too, only a name that begins like
    the setting (`TELEGRAM_…`, `VK_…`) counts."""
    known = [name.upper() for name in Settings.model_fields]
    given = {name.upper() for name, _ in names}
    problems = []
    for name, where in names:
        upper = name.upper()
        if upper in known:
            continue
        likely = difflib.get_close_matches(upper, known, n=1, cutoff=0.85)
        if not likely or likely[0] in given:
            continue
        if where == ENVIRONMENT and upper.split("_")[0] != likely[0].split("_")[0]:
            continue
        problems.append(f"{name} ({where}) is not a setting; did you mean {likely[0]}?")
    return problems
