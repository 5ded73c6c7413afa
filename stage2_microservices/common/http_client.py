"""Tiny async JSON GET over the standard library (urllib in a worker thread).

httpx is not in the pinned environment; internal calls are few, small and local.
"""

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request


async def get_json(url: str, *, params: dict | None = None, headers: dict | None = None,
                   timeout: float = 5.0) -> tuple[int, object]:
    """(status, decoded JSON or None); ConnectionError when the server cannot be reached."""
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})

    def call():
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except (urllib.error.URLError, OSError) as err:
            raise ConnectionError(f"GET {url}: {err}") from err

    status, raw = await asyncio.to_thread(call)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, body
