"""A Secret Service that owns `org.freedesktop.secrets` and never answers.

Keyring clients have hung forever on such a service (a locked keyring waiting
on a prompt nobody sees); conntest must give up after its keyring timeout.
Prints READY once it owns the name. Run on the session bus of the caller.
"""
import asyncio

from dbus_next import MessageType
from dbus_next.aio import MessageBus


async def main() -> None:
    bus = await MessageBus().connect()
    await bus.request_name("org.freedesktop.secrets")

    def swallow(message):
        # Handled, and no reply is ever sent.
        return True if message.message_type == MessageType.METHOD_CALL else None

    bus.add_message_handler(swallow)
    print("READY", flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
