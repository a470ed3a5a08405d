# Shared by test/check, test/demo and bench/run: packages, build, mock.
# Source it from the repository root.

IAI_MOCK_HTTP_PORT=${IAI_MOCK_HTTP_PORT:-58080}
IAI_MOCK_HTTPS_PORT=${IAI_MOCK_HTTPS_PORT:-58443}
IAI_MOCK_WRONGHOST_PORT=${IAI_MOCK_WRONGHOST_PORT:-58444}

# Credentials the mock knows (see test/mock_iai.py).
IAI_MOCK_SECRET_ID=AKIDmockPermanentKey000000000000000001
IAI_MOCK_SECRET_KEY=mockPermanentSecretKey00000000001

IAI_PACKAGES="build-essential postgresql-15 postgresql-server-dev-15 postgresql-common
	libcurl4-openssl-dev libssl-dev python3 openssl curl"

# Debian's interpreter when present (a version manager's shim is slow to start).
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || echo python3)}
export PYTHON

say() { printf '== %s\n' "$*"; }

# Install what is missing (Debian 12, as root).
install_packages() {
	local missing="" p
	for p in $IAI_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
}

# Build warning-free and install into the server's directories.
build_and_install() {
	say "building (-Wall -Wextra -Werror)"
	make -s clean >/dev/null
	make -s PG_CFLAGS="-Wall -Wextra -Werror" >/dev/null
	make -s install >/dev/null
}

# Start the mock endpoint in the background; sets MOCK_DIR and MOCK_PID.
start_mock() {
	MOCK_DIR=$(mktemp -d /tmp/iai-mock.XXXXXX)
	chmod 755 "$MOCK_DIR"
	"$PYTHON" test/mock_iai.py --dir "$MOCK_DIR" \
		--http-port "$IAI_MOCK_HTTP_PORT" --https-port "$IAI_MOCK_HTTPS_PORT" \
		--wronghost-port "$IAI_MOCK_WRONGHOST_PORT" >"$MOCK_DIR/mock.log" 2>&1 &
	MOCK_PID=$!
	for _ in $(seq 1 100); do
		[ -e "$MOCK_DIR/ready" ] && break
		if ! kill -0 "$MOCK_PID" 2>/dev/null; then
			cat "$MOCK_DIR/mock.log" >&2
			echo "the mock endpoint did not start (are ports $IAI_MOCK_HTTP_PORT, $IAI_MOCK_HTTPS_PORT, $IAI_MOCK_WRONGHOST_PORT free?)" >&2
			return 1
		fi
		sleep 0.1
	done
	[ -e "$MOCK_DIR/ready" ] || { echo "the mock endpoint did not get ready" >&2; return 1; }
	say "mock endpoint up (pid $MOCK_PID): http :$IAI_MOCK_HTTP_PORT, https :$IAI_MOCK_HTTPS_PORT"
}

stop_mock() {
	if [ -n "${MOCK_PID:-}" ]; then
		kill "$MOCK_PID" 2>/dev/null || true
		wait "$MOCK_PID" 2>/dev/null || true
		MOCK_PID=
	fi
	[ -n "${MOCK_DIR:-}" ] && rm -rf "$MOCK_DIR"
	MOCK_DIR=
}

# pg_virtualenv options giving a throwaway cluster set up for the mock
# (IAI_PGPORT picks its port; by default the first free one from 5432).
cluster_options() {
	[ -n "${IAI_PGPORT:-}" ] && printf '%s\n' -c "-p $IAI_PGPORT"
	printf '%s\n' -t \
		-o shared_preload_libraries=iai \
		-o "iai.endpoint=http://127.0.0.1:$IAI_MOCK_HTTP_PORT" \
		-o "iai.secret_id=$IAI_MOCK_SECRET_ID" \
		-o "iai.secret_key=$IAI_MOCK_SECRET_KEY" \
		-o "iai.database_name=contrib_regression" \
		-o "iai.queue_retry_interval=200ms" \
		-o "iai_test.mock_dir=$MOCK_DIR" \
		-o "iai_test.mock_url=http://127.0.0.1:$IAI_MOCK_HTTP_PORT"
}
