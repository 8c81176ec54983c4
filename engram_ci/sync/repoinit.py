"""Setting up a knowledge repository: README, .gitignore, .gitattributes and the merge setup.

The .gitattributes routes every knowledge file to the `engram` merge driver, but git keeps
driver definitions in .git/config, which a clone does not copy — so every engram command that
touches a knowledge repo calls `ensure_merge_setup`, which (re)writes, in .git/config:

- `merge.engram.driver`: `engram sync merge-driver ...`, found on PATH (never an absolute
  interpreter path, which would break when the venv moves or another machine runs git);
- `pull.twohead` / `pull.octopus` = `engram ...`: git's merge strategy `engram`, i.e. the
  `git-merge-engram` console script git looks up on PATH, so `git merge a b c` merges at
  block level (git's octopus runs no drivers) and regenerates context.md. Set only when that
  script is on PATH: git refuses every merge naming a strategy it cannot find.

`init-repo` also adds files a new repo lacks; it commits only if it added some.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.knowledge.blocks import CONTEXT_FILE, KNOWLEDGE_CATEGORIES
from engram_ci.memory.paths import METADATA_FILE
from engram_ci.sync.git_repo import MODE_FILE, Entry, GitRepo, configured_default_branch

__all__ = ["STRATEGIES", "default_branch", "ensure_merge_setup", "init_repo", "no_branch_yet"]

log = logging.getLogger("engram_ci")

DRIVER = "engram"
DEFAULT_BRANCH = "main"
#: the console script git runs for `-s engram` (pyproject.toml [project.scripts])
STRATEGY_SCRIPT = f"git-merge-{DRIVER}"
#: strategies git tries in turn; the engram strategy exits 2 on what it cannot merge (e.g. a
#: README changed on both sides), and git then falls back to its own, which runs the driver
STRATEGIES = {"pull.twohead": f"{DRIVER} recursive", "pull.octopus": f"{DRIVER} octopus"}

ATTRIBUTES_HEADER = (
    "# engram-ci: knowledge files merge block by block (## Session: ...), never as text.\n"
    "# Any engram command run in a clone (re)adds the driver to .git/config.\n"
)
ATTRIBUTE_LINES = tuple(
    f"*/{name} merge={DRIVER}"
    for name in (*(f"{c}.md" for c in KNOWLEDGE_CATEGORIES), CONTEXT_FILE, METADATA_FILE)
)

GITIGNORE = """\
# engram-ci knowledge repository
# temp files of interrupted atomic writes
.*.tmp
*.tmp
.DS_Store
"""

README = f"""\
# Knowledge repository (engram)

Shared memory for AI coding agents, written by engram and engram-ci.
One folder per project, each holding engram's knowledge files:

```
<project>/decisions.md   solutions.md   patterns.md   bugs.md
          insights.md    questions.md   procedures.md
          context.md     (derived: a digest of the files above, regenerated on every sync)
          metadata.json  (derived: which tool synced last, and when)
```

Each file is a list of `## Session: <id> (<timestamp>)` blocks. Writers never conflict:
files merge block by block (the union of both sides; a `[deleted:...]` tombstone removes an
entry everywhere), through the `{DRIVER}` merge driver named in `.gitattributes`.

## Use

```sh
engram sync init-repo .                 # in a fresh clone: git does not clone .git/config,
                                        # so this (re)adds the merge setup (so does every
                                        # other engram command run on the repo)
engram sync push-repo myproject . --push-remote     # merge local memory in, commit, push
engram sync pull-repo myproject . --fetch-remote    # merge the repo into local memory
```

Several agents at once: each pushes to its own branch (`--branch agent-a`), then merge
them into main at block level, all at once with plain git (the `engram` merge strategy,
named by `pull.octopus` / `pull.twohead`, is the `git-merge-engram` command engram-ci
installs)

```sh
git checkout main && git merge agent-a agent-b agent-c
```

or without a work tree: `engram sync merge agent-a agent-b agent-c`. Either way context.md
is regenerated from the merged entries.
"""


def driver_command() -> str:
    """The driver command line git runs with `sh -c`: the `engram` script, from PATH."""
    return f"{DRIVER} sync merge-driver %O %A %B %P"


def ensure_merge_setup(repo: GitRepo, *, which: Callable[[str], str | None] = shutil.which) -> bool:
    """Point merge.engram.* and git's default strategies at engram-ci; True when the config
    changed. Idempotent and cheap: every command touching a knowledge repo calls it."""
    wanted = {
        f"merge.{DRIVER}.name": "engram block-level merge of knowledge files",
        f"merge.{DRIVER}.driver": driver_command(),
    }
    changed = False
    if which(STRATEGY_SCRIPT):
        wanted.update(STRATEGIES)
    else:
        log.debug(
            "%s is not on PATH: `git merge` of several branches will not merge knowledge at "
            "block level here (reinstall engram-ci, or use `engram sync merge`)",
            STRATEGY_SCRIPT,
        )
        for key, value in STRATEGIES.items():
            if repo.config_get(key) == value:  # ours, naming a script git cannot find
                repo.config_unset_local(key)
                changed = True
    for key, value in wanted.items():
        if repo.config_get(key) != value:
            if not repo.try_config_set_local(key, value):
                # a read-only clone can still be read: merging there is someone else's job
                log.warning(
                    "could not write %s to %s/.git/config (read-only?)", key, repo.top_level
                )
                return changed
            changed = True
    return changed


def no_branch_yet(repo: GitRepo, branch: str, project: str, *, fetched: bool) -> tuple[str, Fix]:
    """The notice for pulling a branch nobody pushed to yet, and its fix: the push that
    creates the branch, and (when the pull did not fetch) a look at the remote."""
    others = ", ".join(repo.branches()[:10]) or "none"
    notice = (
        f"branch {branch!r} does not exist yet in {repo.top_level}: nothing to pull "
        f"(branches here: {others})"
    )
    cli = f"`engram sync push-repo {project} {repo.top_level} --branch {branch}` creates it"
    action = f"a run with mode push-repo and branch {branch} creates it"
    if fetched:
        return notice, Fix(cli, action_text=action)
    look = ", or look on the remote with {option}"
    return notice, Fix(
        cli + look, flag="--fetch-remote", input="fetch-remote", action_text=action + look
    )


def default_branch(repo: GitRepo, remote: str | None = None) -> str:
    """The branch a command without --branch works on: the checked-out one when it has
    commits; else the remote's default (what a clone would check out: main, master, ...);
    else the unborn checked-out one (a brand-new repo)."""
    current = repo.current_branch()
    if current is not None and repo.branch_tip(current) is not None:
        return current
    for name in (remote, "origin") if remote else ("origin",):
        found = repo.remote_default_branch(name)
        if found:
            return repo.check_branch_name(found)
    if current is None:
        raise FatalError(
            f"HEAD is detached in {repo.top_level}",
            title="no branch",
            fix=Fix("name the branch with {option}", flag="--branch NAME", input="branch"),
        )
    return current


def _attributes(existing: str | None) -> str | None:
    """.gitattributes with every engram line present; None when nothing is missing."""
    if existing is None:
        return ATTRIBUTES_HEADER + "\n".join(ATTRIBUTE_LINES) + "\n"
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in ATTRIBUTE_LINES if line not in have]
    if not missing:
        return None
    return existing.rstrip("\n") + "\n\n" + ATTRIBUTES_HEADER + "\n".join(missing) + "\n"


def init_repo(path: Path, *, branch: str | None = None) -> str:
    """Create or complete a knowledge repo; return the head commit sha. A new repo's branch
    is `branch`, else git's init.defaultBranch, else main."""
    if path.exists() and not path.is_dir():
        raise FatalError(
            f"{path} is a file: give init-repo a folder for the knowledge repository (it is "
            "made when missing)",
            title="not a folder",
        )
    with GitRepo.init(path, branch=branch or configured_default_branch() or DEFAULT_BRANCH) as repo:
        return _complete(repo)


def _complete(repo: GitRepo) -> str:
    with repo.lock():
        if ensure_merge_setup(repo):
            log.info("configured the %s merge setup in %s/.git/config", DRIVER, repo.top_level)
        target = repo.current_branch()
        if target is None:
            raise FatalError(f"HEAD is detached in {repo.top_level}: check out a branch first")
        tip = repo.branch_tip(target)
        root = {e.name: e for e in repo.read_tree(repo.tree_of(tip))}

        def committed(name: str) -> str | None:
            entry = root.get(name)
            if entry is None or not entry.is_regular_file:
                return None
            return repo.read_blob(entry.sha).decode("utf-8", errors="replace")

        added: dict[str, str] = {}
        for name, text in (("README.md", README), (".gitignore", GITIGNORE)):
            untracked = not repo.bare and (repo.top_level / name).exists()
            if name not in root and not untracked:
                added[name] = text
        attributes = _attributes(committed(".gitattributes"))
        if attributes is not None:
            added[".gitattributes"] = attributes
        if not added:
            log.info("%s is already a knowledge repository", repo.top_level)
            return tip or ""
        names = sorted(added)
        shas = repo.write_blobs([added[n].encode() for n in names])
        entries = {**root, **{n: Entry(n, MODE_FILE, s) for n, s in zip(names, shas, strict=True)}}
        tree = repo.write_tree(list(entries.values()))
        message = (
            "engram: complete knowledge repository setup"
            if tip
            else "engram: initialise knowledge repository"
        )
        commit = repo.commit_tree(tree, [tip] if tip else [], message)
        repo.advance_branch(target, tip, commit, "engram: init-repo", sync_work_tree=True)
        log.info("added %s to %s", ", ".join(names), repo.top_level)
        return commit
