# The two commands a newcomer needs. Both work on a fresh machine (they install what they need).
.PHONY: demo test test-st2 bench setup

# On StackStorm 3.9.0's own services where devkit/bin/setup installed them, else on the emulated
# runner; ENGINE=emulated (or stackstorm) picks one.
demo: setup
	.venv/bin/python devkit/bin/workspaces-local demo $(if $(ENGINE),--engine $(ENGINE))

test:
	devkit/bin/test

# The tests under StackStorm 3.9.0's own modules and st2-run-pack-tests (docs/DEVELOPING.md).
test-st2: setup
	devkit/bin/test-st2

bench: setup
	.venv/bin/python bench/run_all.py --million

setup:
	devkit/bin/setup
