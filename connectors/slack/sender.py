"""Who wrote a Slack message, as the Rasa bridge and the actions need it.

Messages go to the Rasa server's signed Slack bridge (`/webhooks/slack/webhook`, see
`connectors.rasa.channels.SlackBridgeInput`) through `connectors.bridge_client`, so the
Slack user id they carry is trusted by the actions and nobody can post as a member of
staff through the open REST channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlackSender:
    """Who wrote, and where: enough for the actions to find the member of staff."""

    team_id: str
    user_id: str
    channel_id: str
    channel_type: str  # im | channel | group | mpim

    @property
    def sender_id(self) -> str:
        """One conversation per person per workspace, whether in a DM or by mention."""
        return f"slack-{self.team_id}-{self.user_id}"

    def metadata(self) -> dict[str, Any]:
        return {
            "slack": {
                "team_id": self.team_id,
                "user_id": self.user_id,
                "channel_id": self.channel_id,
                "channel_type": self.channel_type,
            }
        }
