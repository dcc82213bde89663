"""Entry points and adapters: Telegram (`bots/telegram`), VK (`bots/vk`), the console.

`python -m bots` starts every messenger whose credentials are set; `supportbot` is the
command line (console chat, classifier tools, reports).
"""
