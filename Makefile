# The two commands a newcomer needs (README.md):
#   make run    install into .venv and start the server on embedded defaults (no Redis, no S3)
#   make test   install what the tests need (apt, Redis, pip extras), lint (ruff), type-check (mypy) and run the
#               whole suite
HOST ?= 127.0.0.1
PORT ?= 8088
ARGS ?=

.PHONY: run test install bench-recorder bench-live bench-join bench-soak bench-c-way bench-capacity

run:
	scripts/install.sh
	.venv/bin/hearing-server --host $(HOST) --port $(PORT) $(ARGS)

test:
	scripts/setup-test-env.sh
	.venv/bin/ruff check .
	.venv/bin/mypy hearing_server signaling recorder hardware
	.venv/bin/python -m pytest -q -rfE --durations=15 tests

install:
	scripts/install.sh

# Benchmarks (bench/): print tables, never assert on timings. Pass options with ARGS, e.g.
#   make bench-recorder ARGS="--seconds 60"   make bench-live ARGS="--k 1,2,4 --seconds 30"
#   make bench-join ARGS="--runs 10"          make bench-soak ARGS="--minutes 30"
bench-recorder:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/recorder.py $(ARGS)

bench-live:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/live.py $(ARGS)

bench-join:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/join.py $(ARGS)

bench-soak:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/soak.py $(ARGS)

# Needs root and the Debian packages janus janus-tools ffmpeg iproute2 (the script says what is missing).
bench-c-way:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/c_way.py $(ARGS)

# one party behind tc tbf in a network namespace of its own (root)
.PHONY: bench-weak-link
bench-weak-link:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/weak_link.py $(ARGS)

# A placement simulation (standard library only): the venv's Python is all it needs.
bench-capacity:
	scripts/install.sh
	.venv/bin/python bench/capacity.py $(ARGS)

# Needs PostgreSQL on 127.0.0.1:5432 (setup-test-env.sh starts it); makes a database of its own and drops it.
#   make bench-catalog ARGS="--rows 20000"   (a quick try; the default is a million recordings)
.PHONY: bench-catalog
bench-catalog:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python bench/catalog.py $(ARGS)

# Mutation testing (mutmut) of the record's integrity and the court's rules: recorder/manifest.py, verify.py,
# segments.py, hearing_server/roles.py, tokens.py, media/audio_mixer.py. Prints the killed/survived table;
# not in CI (about an hour on 2 vCPU for all six). Runs in a scratch copy of HEAD, niced; docs/testing.md.
#   make mutation MODULES=roles,tokens   some of them (python scripts/mutation.py --list names them)
#   make mutation ARGS=--worktree        the tracked files as they are now, uncommitted edits included
.PHONY: mutation
MODULES ?=
mutation:
	scripts/setup-test-env.sh
	scripts/install.sh test bench
	.venv/bin/python scripts/mutation.py --modules "$(MODULES)" $(ARGS)
