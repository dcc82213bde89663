"""All settings of the bot, read from environment variables and `.env`.

Every field has a default where a sensible one exists. `load_settings()` turns a
validation error into one readable line (`SettingsError`) instead of a traceback;
`.env.example` documents every variable.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
KNOWLEDGE_DIR = CONFIG_DIR / "knowledge"
NLU_DIR = CONFIG_DIR / "nlu"

CommaList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- storage and files -------------------------------------------------------------
    database_url: str = "sqlite:///data/support.db"
    data_dir: Path = Path("data")
    knowledge_dir: Path = KNOWLEDGE_DIR
    nlu_dir: Path = NLU_DIR
    log_level: str = "INFO"

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
    telegram_webhook_port: int = 8080
    telegram_webhook_path: str = "/telegram/webhook"
    telegram_webhook_secret: SecretStr | None = None
    operators_group_messages_per_minute: int = Field(18, ge=1, le=60)

    # --- VK --------------------------------------------------------------------------------
    vk_group_token: SecretStr | None = None
    vk_group_id: int | None = None
    vk_api_url: str = "https://api.vk.ru/method/"
    vk_requests_per_second: float = Field(15.0, gt=0, le=20)
    vk_callback_enabled: bool = False
    vk_callback_host: str = "0.0.0.0"
    vk_callback_port: int = 8081
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
        from core.routing import load_routing

        load_routing(value)  # RoutingError (a ValueError) names the file and the rule
        return value

    @model_validator(mode="after")
    def _desk_groups_known(self) -> Settings:
        if not self.operator_groups:
            return self
        from core.routing import MAIN, load_routing

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

    @field_validator("work_days", "vip_telegram_ids", "vip_vk_ids", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def vk_enabled(self) -> bool:
        return self.vk_group_token is not None


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise `SettingsError` with one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("; ".join(lines)) from None
