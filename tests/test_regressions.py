"""`python -m mind_runner regressions` over the fixture history, measured by the real asv.

The fixture plants steps whose causes are known: slow-autodiff triples the autodiff
work and revert-slow undoes it; wrong-relu-grad swaps relu_grad's operands (the same
counts; x and w1 of small_mlp get wrong gradients); hash-seeded adds a hash map and a
tape check (+5 % to +16 % of the autodiff work), and it stays to the tip (the two
runtime commits after it leave mindc's counts within 1 %). By default the command
lists the regressions still present at the newest commit, each named with its
commit, the values around it, their ratio and the GitHub link; `--all` shows every
step, the reverted pair included.
"""

from __future__ import annotations

import json
import re

from asv.config import Config

from tests.asv_results import benchmark_values, load_results
from tests.conftest import PublishedHistory

AUTODIFF = "mind_counts.InstructionCounts.track_autodiff_instructions"
INCORRECT = "mind_correctness.GradientCorrectness.track_incorrect_gradients"
MODELS = ("simple_quadratic", "small_mlp", "matmul_chain")
HEADER = re.compile(
    r"(\d+) step\(s\) in the history, (\d+) regression\(s\) still present at the newest commit"
)
VALUES = re.compile(r"before:\s+([\d,]+) (\w+)\s+after: ([\d,]+) \w+\s+ratio: ([\d.]+|inf)x")


def step_blocks(stdout: str) -> list[str]:
    """Every step's block in the exact-figure section (a figure may have several)."""
    exact = stdout.split("\nWall times", 1)[0]  # asv's own findings follow
    # A step's block: its figure, then `  commit:` or `  commits:` (a long name stands
    # on a line of its own).
    return [
        block
        for block in exact.split("\n\n")
        if any(line.startswith("  commit") for line in block.splitlines()[1:3])
    ]


def blocks_by_title(stdout: str) -> dict[str, str]:
    """Each step's block, keyed by its first line's figure, e.g. `...(model=small_mlp)`
    (a figure without parameters by its name); a figure's last step where it has several."""
    blocks = {}
    for block in step_blocks(stdout):
        title = block.splitlines()[0]
        if "(" in title:
            blocks[title[: title.index(")") + 1]] = block
        else:
            blocks[title.split(":", 1)[0]] = block
    return blocks


def values(block: str) -> tuple[float, float, str]:
    match = VALUES.search(block)
    assert match, block
    before, unit, after, ratio = match.groups()
    number_before, number_after = (float(v.replace(",", "")) for v in (before, after))
    if ratio != "inf":
        assert float(ratio) == round(number_after / number_before, 3), block
    return number_before, number_after, unit


def test_the_steps_still_present_are_named_with_commit_values_ratio_and_link(
    published_history: PublishedHistory,
) -> None:
    project = published_history.project
    history = project.history
    completed = project.mind_runner("regressions", check=False)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    print(completed.stdout)

    steps = json.loads((project.html_dir / "steps.json").read_text())
    (machine,) = steps["machines"]
    assert machine["ordered_by"] == "git history"
    header = HEADER.search(completed.stdout.splitlines()[0])
    assert header, completed.stdout
    assert int(header.group(1)) == len(machine["steps"])
    present = [step for step in machine["steps"] if step["still_present"]]
    assert int(header.group(2)) == len(present) > 0
    assert all(step["kind"] == "regression" for step in present)

    conf = Config.load(str(project.root / "asv.conf.json"))
    results = load_results(project.results_dir)
    hashed, wrong = history.by_label("hash-seeded"), history.by_label("wrong-relu-grad")
    tip = history.commits[-1]
    assert hashed.hash_seeded and tip.hash_seeded
    blocks = blocks_by_title(completed.stdout)
    assert len(step_blocks(completed.stdout)) == len(present), sorted(blocks)
    for model in MODELS:
        block = blocks.get(f"{AUTODIFF}(model={model})")
        assert block is not None, f"{model}'s autodiff step not reported:\n{completed.stdout}"
        # wrong-relu-grad is measured and is hash-seeded's parent: one commit, not a range.
        assert f"commit:  {hashed.sha[:8]} (the step is this one commit)" in block
        assert f"link:    {conf.show_commit_url}{hashed.sha}" in block
        assert f"STILL PRESENT at the newest measured commit {tip.sha[:8]}" in block
        before, after, unit = values(block)
        assert unit == "instructions"
        assert before == benchmark_values(results[wrong.sha], AUTODIFF)[(model,)]
        assert after == benchmark_values(results[hashed.sha], AUTODIFF)[(model,)]
        # Above the 1 % threshold, far below slow-autodiff's 3x.
        assert 1.01 < after / before < 1.3, (model, before, after)

    # The wrong gradient costs the same instructions, but its own figure sees it.
    block = blocks.get(f"{INCORRECT}(model=small_mlp)")
    assert block is not None, completed.stdout
    assert f"commit:  {wrong.sha[:8]} (the step is this one commit)" in block
    assert values(block)[:2] == (2, 4)  # b1, b2 absent; then x and w1 wrong too
    for model in ("simple_quadratic", "matmul_chain"):  # no relu: nothing changes
        assert f"{INCORRECT}(model={model})" not in blocks
    # The reverted 3x step is history, not a finding.
    slow = history.by_label("slow-autodiff")
    assert slow.sha[:8] not in completed.stdout


def test_all_shows_the_reverted_step_and_its_revert(
    published_history: PublishedHistory,
) -> None:
    """slow-autodiff triples the autodiff work and revert-slow undoes it: `--all` lists
    both, linked to each other, and neither is still present."""
    project = published_history.project
    history = project.history
    completed = project.mind_runner("regressions", "--all", check=False)
    assert completed.returncode == 1, completed.stderr
    slow, revert = history.by_label("slow-autodiff"), history.by_label("revert-slow")
    steps = json.loads((project.html_dir / "steps.json").read_text())["machines"][0]["steps"]
    for model in MODELS:
        found = {
            step["first_after"]: step
            for step in steps
            if step["benchmark"] == AUTODIFF and step["params"] == {"model": model}
        }
        tripled, reverted = found[slow.sha], found[revert.sha]
        assert tripled["kind"] == "regression" and reverted["kind"] == "improvement"
        assert 2.5 < tripled["after"] / tripled["before"] <= 3.0, tripled
        assert reverted["undoes"] == slow.sha and tripled["undone_by"] == revert.sha
        assert not tripled["still_present"] and not reverted["still_present"]
        # docs-1 and docs-2 change no code: the step is one commit, not a range.
        assert (
            tripled["single_commit"] and reverted["last_before"] == history.by_label("docs-2").sha
        )
    assert f"undoes:  {slow.sha[:8]}" in completed.stdout
    assert f"undone:  by {revert.sha[:8]}" in completed.stdout
