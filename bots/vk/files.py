"""Files between VK and the rest of the bot.

* `fetch(attachment)` is the fetcher registered for channel "vk" in `core.files`: the
  bytes of a customer's VK photo, document or voice message (VK gives public links), so
  that e.g. the Telegram operators' topic can show them. A video has no file link: it
  raises `FileUnavailable` and the other side shows the vk.com link instead.
* `upload(peer_id, attachment)` puts a file from any channel (an operator's Telegram
  photo) into a VK message: bytes via `core.files.fetch` → photos.getMessagesUploadServer
  → upload → photos.saveMessagesPhoto (documents: docs.getMessagesUploadServer →
  docs.save) → the attachment string "photo{owner}_{id}_{access_key}".
"""

from __future__ import annotations

from vkbottle import API, DocMessagesUploader, PhotoMessageUploader

from core.runtime.files import FileFetchers, FileUnavailable, fetch_url
from core.types import Attachment

PHOTO_KINDS = ("photo",)
NOT_DOWNLOADABLE = ("video",)  # VK gives a player page, not a file


class VKFiles:
    def __init__(self, api: API, fetchers: FileFetchers) -> None:
        self.api = api
        self.fetchers = fetchers

    async def fetch(self, attachment: Attachment) -> bytes:
        """Bytes of a file a VK customer sent (the `core.files` fetcher for "vk")."""
        if attachment.kind in NOT_DOWNLOADABLE:
            raise FileUnavailable(f"VK {attachment.kind} has no downloadable file")
        if not attachment.url.startswith(("http://", "https://")):
            raise FileUnavailable("the VK attachment has no link")
        return await fetch_url(attachment.url)

    async def upload(self, peer_id: int, attachment: Attachment) -> str:
        """The VK attachment string of `attachment` uploaded for `peer_id`.

        Raises `FileUnavailable` when the bytes cannot be had, and the VK/network error
        of the upload chain otherwise.
        """
        data = await self.fetchers.fetch(attachment)
        if not data:
            raise FileUnavailable("the file is empty")
        if attachment.kind in PHOTO_KINDS:
            return await PhotoMessageUploader(self.api).upload(data, peer_id=peer_id)
        title = document_title(attachment)
        return await DocMessagesUploader(self.api).upload(data, peer_id=peer_id, title=title)


def document_title(attachment: Attachment) -> str:
    """The file name shown in VK (docs.save `title`)."""
    default = {"voice": "voice.ogg", "video": "video.mp4", "audio": "audio.mp3"}
    return attachment.name.strip() or default.get(attachment.kind, "file.bin")
