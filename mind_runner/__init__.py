"""mind-autodiff-bench: MIND's compile-time gradients against PyTorch autograd, in asv.

Code map (dependencies point down this list, never up; a test checks it):

- `commands/`: one module per `python -m mind_runner` verb, `cli` (the parser),
  `config` (asv.conf.json, MIND_REPO and every path derived from them) and
  `worker_dir` (one parallel worker's own asv folders, for `backfill`),
  `machine_file` (asv's machine file, replaced whole for parallel asv commands).
- `site/`: the published site made to work offline.
- `report/`: the seed's comparison: figures read (`measures`), modelled, rendered.
- `regressions/`: the steps in the history, as asv found them.
- `results/`: asv's result files and MIND's git history, read through asv's API.
- `mind/`: everything that knows MIND: the models, their program dialects, the
  gradient IR, the driver that runs `mindc` (and keeps its choices per binary), the
  reference executor of the printed IR and the gradient check with its verdicts.
- `measure/`: generic measurement of one command: fixed conditions, repeated runs,
  instructions (callgrind), peak RSS (GNU time). Knows nothing of MIND.
- `hooks/`: asv's build, install and uninstall commands (cargo, the build manifest).
- `util/`: errors, atomic files, text, program lookup, the project's folder layout, and
  the run log (faults of this machine and facts about MIND that asv's files cannot hold).
"""
