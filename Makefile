# The two commands a newcomer needs (README.md):
#   make run    install into .venv and start the server on embedded defaults (no Redis, no S3)
#   make test   install what the tests need (apt, Redis, pip extras) and run the whole suite
HOST ?= 127.0.0.1
PORT ?= 8088
ARGS ?=

.PHONY: run test install

run:
	scripts/install.sh
	.venv/bin/hearing-server --host $(HOST) --port $(PORT) $(ARGS)

test:
	scripts/setup-test-env.sh
	.venv/bin/python -m pytest -q -rfE tests

install:
	scripts/install.sh
