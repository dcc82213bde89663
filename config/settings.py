"""All settings of the bot, read from environment variables and `.env`.

Every field has a default where a sensible one exists. `load_settings()` turns a
validation error into one readable line (`SettingsError`) instead of a traceback;
`.env.example` documents every variable.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
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
