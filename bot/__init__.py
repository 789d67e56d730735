"""The Telegram side of newsbot: settings, command line and the bot itself."""
