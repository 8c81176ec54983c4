"""What a gist id is, checked wherever one comes in: a flag, an input, a positional, a
remembered state file.

The id goes into API paths (`/gists/{id}`, `/gists/{id}/commits`), so anything but the hex
string GitHub gives would address another endpoint with the user's token: `../user`,
`x?per_page=`. Older gists have numeric ids, which are hex too. A gist's URL is taken for
its id, since that is what a user copies from the browser.
"""

from __future__ import annotations

import re

__all__ = ["GIST_ID_WANTED", "parse_gist_id"]

#: what the error says a gist id is (each face prefixes its own words)
GIST_ID_WANTED = "a gist id: the hex string that ends the gist's URL"

_ID = re.compile(r"[0-9a-fA-F]{1,64}")
#: https://gist.github.com/<owner>/<id>, …/<id>.git, GHES's …/gist/<owner>/<id>, an API URL
#: …/gists/<id> (only the id is kept: the host and path are never used)
_URL = re.compile(r"https?://[^/\s]+(?:/[^/\s]+){0,3}/([0-9a-fA-F]{1,64})(?:\.git)?/?(?:#\S*)?")


def parse_gist_id(text: str) -> str:
    """`text` as a gist id (a gist URL gives its id); ValueError naming what is wanted."""
    text = text.strip()
    url = _URL.fullmatch(text)
    if url is not None:
        return url.group(1)
    if _ID.fullmatch(text) is None:
        raise ValueError(GIST_ID_WANTED)
    return text
