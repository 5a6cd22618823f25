"""The Slack connector: staff talk to the bot in Slack (slack-bolt, Socket Mode or HTTP Events)."""
