"""How a session's project is named: ours (the cwd's last component, exact) or upstream
engram's (decoded from Claude Code's transcript folder name, lossy) — `--project-name`.

Claude Code names a project folder after the cwd with every non-alphanumeric character
replaced by `-`, so `/Users/me/workspace/app` becomes `-Users-me-workspace-app`. engram
cannot undo that; it guesses: everything after a `Projects` or `Personal` segment, else
everything after `Users-<name>`, else all segments (`-home-runner-work-x-x` ->
`home-runner-work-x-x`). Both tools writing one memory must agree on the name, so a user
who runs both picks engram's rule here.
"""

from __future__ import annotations

__all__ = ["PROJECT_NAME_RULES", "engram_folder_name"]

#: --project-name choices: cwd (ours, the default) or engram (upstream's folder decoding)
PROJECT_NAME_RULES = ("cwd", "engram")
_MARKERS = ("Projects", "Personal")


def engram_folder_name(folder: str) -> str:
    """engram's decode_project_name (src/parser/discovery.rs), rule for rule."""
    parts = [part for part in folder.split("-") if part]
    if not parts:
        return folder
    for index, part in enumerate(parts):
        if part in _MARKERS and index + 1 < len(parts):
            return "-".join(parts[index + 1 :])
    if len(parts) >= 2 and parts[0] == "Users":
        return "home" if len(parts) == 2 else "-".join(parts[2:])
    return "-".join(parts)
