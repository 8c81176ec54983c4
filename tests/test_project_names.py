"""engram's project-name decoding, pinned to upstream's own test cases (discovery.rs)."""

from __future__ import annotations

import pytest

from engram_ci.transcripts.project_names import engram_folder_name


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("-Users-algimantask-Projects-claudius", "claudius"),
        ("-Users-algimantask-Personal-memory-palace", "memory-palace"),
        (
            "-Users-algimantask-Projects-nile-cag-packages-nile-setup-cli",
            "nile-cag-packages-nile-setup-cli",
        ),
        ("-Users-algimantask-sandbox", "sandbox"),
        ("-Users-algimantask", "home"),
        ("-private-tmp-sm", "private-tmp-sm"),
        ("-Users-me-workspace-app", "workspace-app"),  # FACTS.md: lossy
        ("-home-runner-work-repo-repo", "home-runner-work-repo-repo"),
        ("---", "---"),
    ],
)
def test_engram_folder_name(folder: str, name: str) -> None:
    assert engram_folder_name(folder) == name
