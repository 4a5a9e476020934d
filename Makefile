# Loopdesk: `make run` serves the embedded demo, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
export HOST PORT

.PHONY: run test install translations i18n browser imap-server setup clean lint

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

translations: install
	$(BIN)/pybabel -q compile -d service/translations

# Re-extract messages after changing user-facing text; then translate the new entries in
# service/translations/{en,zh_Hans_CN} (tests/test_i18n.py fails until every one is).
i18n: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
	  --project=Loopdesk -o service/translations/messages.pot .
	$(BIN)/pybabel -q update -i service/translations/messages.pot -d service/translations

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads one),
# with a CJK font so screenshots of Chinese pages show Chinese rather than empty boxes.
browser:
	@command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/truetype/wqy ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	  else echo "install Debian's chromium and fonts-wqy-zenhei packages for the browser tests"; fi; }

# Debian's Dovecot for the IMAP poller's real-server test (it runs its own instance on a
# free port; the system service is not used).
imap-server:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "install Debian's dovecot-imapd package for the IMAP poller test"; fi; }

setup: install translations
	$(FLASK) setup

run: setup
	$(FLASK) demo load
	$(FLASK) serve --host $(HOST) --port $(PORT)

# Tests run in parallel, one worker per CPU (each with its own PostgreSQL and Redis
# database); PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto
test: install translations browser imap-server
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check service tickets tests bench

clean:
	rm -rf $(VENV) instance .pytest_cache
