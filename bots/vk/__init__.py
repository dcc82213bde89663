"""The VK community adapter (vkbottle 4): customers write to the community's messages.

`VKChannel(core, settings)` is the entry point; the modules, from the outside in:
`channel` (lifecycle), `callback` (Callback API server), `polling` (long poll without a
state file in the cwd), `customer` (handlers), `inbound` (updates → Inbound parts),
`render` (Reply → text parts and keyboards), `sender` (outbox Sender), `files`
(downloads and uploads), `errors` (VK error codes → delivery outcomes), `api` and
`ratelimit` (the rate-limited API client).
"""

from bots.vk.channel import VKChannel

__all__ = ["VKChannel"]
