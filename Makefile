# The two commands a newcomer needs. Both work on a fresh machine (they install what they need).
.PHONY: demo test bench setup

demo: setup
	.venv/bin/python devkit/bin/workspaces-local demo

test:
	devkit/bin/test

bench: setup
	.venv/bin/python bench/run_all.py --million

setup:
	devkit/bin/setup
