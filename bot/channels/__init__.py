"""Channel adapters: translate each platform's wire format to and from BotReply."""
