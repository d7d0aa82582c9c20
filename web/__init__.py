"""The web/API service (aiohttp): chat page, catalogue and ticket APIs, health."""
