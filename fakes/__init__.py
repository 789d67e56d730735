"""Fakes of the outside world that the tests and the benchmarks share: the Telegram Bot API
(`fakes.bot_api`) and news sites with feeds and pages (`fakes.newsroom`), each an aiohttp
server on 127.0.0.1, and generated corpora of any size (`fakes.corpora`). The product never
imports them; tests/ and bench/ import them and not each other's modules for them."""
