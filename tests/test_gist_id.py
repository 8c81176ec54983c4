"""What a gist id is: the hex string GitHub gives (or the URL ending in it), nothing else."""

from __future__ import annotations

import pytest

from engram_ci.sync.gist_id import parse_gist_id

ID = "d7e0915a399079c00fb1c61a6f5eea42"


@pytest.mark.parametrize(
    ("text", "gist_id"),
    [
        (ID, ID),
        (f"  {ID}\n", ID),
        ("1234567", "1234567"),  # an old gist's numeric id
        (f"https://gist.github.com/octocat/{ID}", ID),
        (f"https://gist.github.com/octocat/{ID}/", ID),
        (f"https://gist.github.com/{ID}.git", ID),
        (f"https://gist.github.com/octocat/{ID}#file-decisions-md", ID),
        (f"https://api.github.com/gists/{ID}", ID),
        (f"https://ghe.example.com/gist/octocat/{ID}", ID),
        (f"https://ghe.example.com/api/v3/gists/{ID}", ID),
    ],
)
def test_an_id_or_the_url_ending_in_one(text: str, gist_id: str) -> None:
    assert parse_gist_id(text) == gist_id


@pytest.mark.parametrize(
    "text",
    ["", "../user", "x?per_page=1", f"{ID}/commits", "my-app", "a b", "%2e%2e", "f" * 65],
)
def test_anything_else_would_address_another_endpoint_and_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="the hex string that ends the gist's URL"):
        parse_gist_id(text)
