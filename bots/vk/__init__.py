"""The VK community adapter (vkbottle 4): customers write to the community's messages.

`VKChannel(core, settings)` is the entry point; the modules, from the outside in:
`channel` (lifecycle), `callback` (Callback API server), `polling` (long poll without a
state file in the cwd), `customer` (handlers), `edits` (a customer's edited message),
`inbound` (updates → Inbound parts), `render` (Reply → text parts and keyboards), `sender`
(outbox Sender), `files` (downloads and uploads), `errors` (VK error codes → delivery
outcomes), `api` and `ratelimit` (the rate-limited API client).

The adapter is transport: what every channel does with a parsed update (the turn, the
apology when it fails, an edit relayed) is `core.customer_updates`; what it says to
customers is in `config/knowledge/texts.yaml` (`vk`), the reasons operators read when VK
refuses a message in `desk.yaml` (`undelivered.vk`).
"""

from bots.vk.channel import VKChannel

__all__ = ["VKChannel"]
