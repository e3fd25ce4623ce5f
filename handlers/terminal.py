"""The terminal channel: a person plays the witness at a keyboard, through the real desk."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, TextIO

from bot.channels import ChannelPlugin, ChannelTraits
from bot.desk import InboundMessage
from bot.intake import messages

if TYPE_CHECKING:
    from bot.desk import IntakeDesk

TERMINAL = "terminal"
# A practice conversation at a keyboard (`python -m bot chat`): replies are printed at once.
PLUGIN = ChannelPlugin(
    name=TERMINAL,
    describe=lambda _settings: ChannelTraits(
        name=TERMINAL, help=messages.HELP_TERMINAL, inline=True
    ),
)

BANNER = (
    "You are the witness. Type what a witness would text; the service answers below.\n"
    "Leave with Ctrl-D (or /quit). Nothing here reaches Twilio or Telegram.\n"
)


async def run_chat(
    desk: IntakeDesk, *, address: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    stdout.write(BANNER)
    interactive = stdin.isatty()
    while True:
        if interactive:
            stdout.write("you> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line or line.strip() == "/quit":
            stdout.write("\n")
            return
        text = line.rstrip("\r\n")
        if not interactive:
            stdout.write(f"you> {text}\n")
        receipt = await desk.receive(
            # Piped input is a script, not a person typing: no line is part of a burst.
            InboundMessage(channel=TERMINAL, address=address, text=text, timed=interactive)
        )
        for reply in receipt.replies:
            stdout.write(_indent(reply.text) + "\n")
        if not receipt.replies and receipt.opted_out:
            stdout.write("   (no reply: this witness has opted out; START to opt back in)\n")
        elif not receipt.replies:
            stdout.write("   (no reply: read together with the previous answer)\n")
        stdout.flush()


def _indent(text: str) -> str:
    lines = text.splitlines() or [""]
    return "\n".join(("bot> " if i == 0 else "     ") + line for i, line in enumerate(lines))
