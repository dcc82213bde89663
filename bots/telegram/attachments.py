"""Files of an incoming Telegram message as core attachments (customers and operators)."""

from __future__ import annotations

from aiogram.types import Message

from core.types import TELEGRAM, Attachment


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        photo = message.photo[-1]
        return (Attachment("photo", ref=photo.file_id, source=TELEGRAM, name="photo.jpg"),)
    if message.document:
        doc = message.document
        return (
            Attachment(
                "document", ref=doc.file_id, source=TELEGRAM, name=doc.file_name or "document"
            ),
        )
    if message.video:
        return (Attachment("video", ref=message.video.file_id, source=TELEGRAM, name="video.mp4"),)
    if message.voice:
        return (Attachment("voice", ref=message.voice.file_id, source=TELEGRAM, name="voice.ogg"),)
    if message.audio:
        return (
            Attachment(
                "audio",
                ref=message.audio.file_id,
                source=TELEGRAM,
                name=message.audio.file_name or "audio.mp3",
            ),
        )
    return ()
